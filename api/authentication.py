"""API key authentication: `Authorization: Bearer <prefix>.<secret>`.

The key is looked up by its prefix and checked against its stored hash; a revoked or expired
key, a key whose creator left (inactive, no longer a member of the key's organization) or
whose organization is inactive answers 401. The request then acts as the key's creator (the
user the services and selectors take), within the key's scopes (api.permissions).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from msp_portal import context
from msp_portal.middleware import client_ip

from .models import ApiKey

# Last-used time and address are written at most this often per key (and whenever the address
# changes): a client paging through a list must not write a row per page.
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)

INVALID_KEY = _("The API key is missing, invalid, expired or revoked.")


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1", errors="replace")
        if not header:
            return None
        keyword, _sep, secret = header.strip().partition(" ")
        secret = secret.strip()
        if keyword.lower() != self.keyword.lower() or "." not in secret or len(secret) > 200:
            raise exceptions.AuthenticationFailed(INVALID_KEY)
        api_key = (
            ApiKey.objects.select_related("organization", "created_by__membership__organization")
            .filter(prefix=secret.partition(".")[0])
            .first()
        )
        if api_key is None or not api_key.is_usable or not api_key.is_valid(secret):
            raise exceptions.AuthenticationFailed(INVALID_KEY)
        user = api_key.created_by
        organization = api_key.organization
        if not user.is_active or not organization.is_active or user.organization != organization:
            raise exceptions.AuthenticationFailed(INVALID_KEY)
        ip = client_ip(request)
        self._note_use(api_key, ip)
        context.update(channel="api", actor_label=api_key.label, ip=ip)
        return user, api_key

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'

    @staticmethod
    def _note_use(api_key: ApiKey, ip: str | None) -> None:
        now = timezone.now()
        if api_key.last_used_at and now - api_key.last_used_at < LAST_USED_RESOLUTION and api_key.last_used_ip == ip:
            return
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now, last_used_ip=ip)
        api_key.last_used_at, api_key.last_used_ip = now, ip
