"""Reads of API keys: an organization's admins see their organization's keys only."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import User

from .models import ApiKey


def api_keys_of(user: User) -> QuerySet[ApiKey]:
    organization = user.organization if user.is_authenticated else None
    if organization is None:
        return ApiKey.objects.none()
    return ApiKey.objects.filter(organization=organization).select_related("created_by", "revoked_by")


def get_api_key_for_user(user: User, prefix) -> ApiKey:
    """The key with this prefix if it is of the user's organization, else 404."""
    key = api_keys_of(user).filter(prefix=str(prefix)).first()
    if key is None:
        raise Http404
    return key
