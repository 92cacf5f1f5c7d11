"""Writes of API keys: create (the secret returned once, never stored) and revoke. Both are
audited; neither can be undone (a revoked key stays as a record)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from audit.services import audit_record
from msp_portal.errors import DomainError

from .models import ApiKey
from .scopes import scopes_for

NAME_MAX_LENGTH = 50


@transaction.atomic
def api_key_create(*, actor: User, name: str, scopes: list[str], expires_on: dt.date) -> tuple[ApiKey, str]:
    """Create a key of the actor's organization with `scopes` (those its kind may have), valid
    to the end of `expires_on` (Asia/Tokyo; at most PORTAL_API_KEY_MAX_DAYS ahead). Returns the
    key and its secret, which is shown once and kept only as a hash."""
    organization = actor.organization
    name = (name or "").strip()
    if organization is None:
        raise DomainError(_("Only staff of an organization can create API keys."))
    if not name or len(name) > NAME_MAX_LENGTH:
        raise DomainError(_("Enter a name of at most %(max)s characters.") % {"max": NAME_MAX_LENGTH})
    allowed = set(scopes_for(organization))
    chosen = sorted(set(scopes))
    if not chosen:
        raise DomainError(_("Choose at least one scope."))
    if set(chosen) - allowed:
        raise DomainError(
            _("A key of this organization cannot have these scopes: %(scopes)s")
            % {"scopes": ", ".join(sorted(set(chosen) - allowed))}
        )
    today = timezone.localdate()
    if not today < expires_on <= today + dt.timedelta(days=settings.PORTAL_API_KEY_MAX_DAYS):
        raise DomainError(
            _("Choose an expiry date after today and at most %(days)s days ahead.")
            % {"days": settings.PORTAL_API_KEY_MAX_DAYS}
        )
    expiry = timezone.make_aware(dt.datetime.combine(expires_on + dt.timedelta(days=1), dt.time.min))
    api_key, secret = ApiKey.objects.create_key(
        name=name, organization=organization, created_by=actor, scopes=chosen, expiry_date=expiry
    )
    # No `obj`: the key's primary key embeds its hash and is longer than the trail's object id;
    # the prefix names it.
    audit_record(
        actor=actor,
        action="api_key.create",
        organization=organization,
        after={"name": name, "prefix": api_key.prefix, "scopes": chosen, "expires": expiry},
    )
    return api_key, secret


@transaction.atomic
def api_key_revoke(*, actor: User, api_key: ApiKey) -> ApiKey:
    """Revoke a key: from now on it answers 401. Revoking a revoked key changes nothing."""
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.revoked:
        return api_key
    api_key.revoked = True
    api_key.revoked_at = timezone.now()
    api_key.revoked_by = actor
    api_key.save(update_fields=["revoked", "revoked_at", "revoked_by"])
    audit_record(
        actor=actor,
        action="api_key.revoke",
        organization=api_key.organization,
        before={"name": api_key.name, "prefix": api_key.prefix, "revoked": False},
        after={"name": api_key.name, "prefix": api_key.prefix, "revoked": True},
    )
    return api_key
