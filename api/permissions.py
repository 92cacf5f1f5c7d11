"""Every API view names its Operation (api.scopes); a request needs the operation's scope on
its key and the operation's capability in the key's creator's role."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import permissions

from msp_portal.permissions import has_cap

from .models import ApiKey
from .scopes import Operation


def operation_of(view, request) -> Operation | None:
    return getattr(view, "operations", {}).get(request.method)


class KeyScopeAndRole(permissions.BasePermission):
    message = _("This API key may not do that: it lacks the scope, or its creator's role lacks the permission.")

    def has_permission(self, request, view) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return False
        operation = operation_of(view, request)
        if operation is None:
            return False
        return operation.scope in api_key.scopes and has_cap(request.user, operation.cap)
