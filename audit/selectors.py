"""Reads of the audit trail, starting from what the user may see."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.selectors import managed_organization_ids, organizations_visible_to
from msp_portal.paging import merged_first_ids

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


AUDIT_ORDERING = ("-created_at", "-id")


def audit_page_events(user, filtered: QuerySet[AuditEvent], bound: int) -> QuerySet[AuditEvent]:
    """The filtered trail newest first, for a page within the first `bound` rows, each part an
    index range: the operator's is the trail itself (the time index, or the filter's own); an
    MSP's is merged from one range per organization it sees (the organization's index, alone
    or with the action, or the filter's index), so that a new MSP's empty trail and a large
    MSP's filtered one never walk the whole table's time index looking for their rows."""
    if managed_organization_ids(user) is None:
        return filtered.order_by(*AUDIT_ORDERING)
    organization_ids = list(organizations_visible_to(user).order_by("pk").values_list("pk", flat=True))
    if len(organization_ids) <= 1:
        # One range is already in order: no merge needed.
        return filtered.filter(organization_id__in=organization_ids).order_by(*AUDIT_ORDERING)
    parts = [filtered.filter(organization_id=organization_id) for organization_id in organization_ids]
    ids = merged_first_ids(parts, AUDIT_ORDERING, bound)
    return filtered.filter(pk__in=ids).order_by(*AUDIT_ORDERING)
