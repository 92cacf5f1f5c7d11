"""Reads of the audit trail, starting from what the user may see."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.selectors import managed_organization_ids, organizations_visible_to

from .models import AuditEvent


def audit_events_visible_to(user) -> QuerySet[AuditEvent]:
    """Everything for the operator; for MSP staff the events recorded for the organizations
    they manage (their own, a privileged MSP's children) and their support accounts."""
    queryset = AuditEvent.objects.all()
    if not user.is_authenticated or user.organization is None:
        return queryset.none()
    ids = managed_organization_ids(user)
    if ids is None:
        return queryset
    if not ids:
        return queryset.none()
    return queryset.filter(organization_id__in=organizations_visible_to(user).values("pk"))
