"""Reads of webhooks, from the tenant scope: an organization's admins see its endpoints (a
privileged MSP's also its child MSPs'), the operator's admins every organization's."""

from __future__ import annotations

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from accounts.models import User
from accounts.selectors import managed_organization_ids
from msp_portal.permissions import Cap, check_cap

from .models import Attempt, Delivery, Endpoint


def _organization_ids(user: User) -> list[int] | None:
    """None: every organization (the operator)."""
    if user.organization is None or not user.organization.is_active:
        return []
    return managed_organization_ids(user)


def endpoints_visible_to(user: User) -> QuerySet[Endpoint]:
    """The live (not deleted) endpoints the user may see, with their organization."""
    queryset = Endpoint.objects.filter(deleted_at__isnull=True).select_related("organization")
    ids = _organization_ids(user)
    if ids is None:
        return queryset
    return queryset.filter(organization_id__in=ids) if ids else queryset.none()


def endpoint_list_for(user: User) -> QuerySet[Endpoint]:
    """The endpoint list page: visible endpoints with the time of their latest delivery (one
    index look-up each on webhooks_delivery_page, not an aggregate over every delivery)."""
    latest = Delivery.objects.filter(endpoint=OuterRef("pk")).order_by("-created_at", "-id").values("created_at")
    return endpoints_visible_to(user).annotate(last_delivery_at=Subquery(latest[:1]))


def get_endpoint_for_user(user: User, pk, *, cap: Cap | None = None) -> Endpoint:
    """The endpoint `pk` if the user may see it (else 404), checked for `cap` (else 403)."""
    try:
        endpoint = endpoints_visible_to(user).get(pk=pk)
    except (Endpoint.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if cap is not None:
        check_cap(user, cap)
    return endpoint


def deliveries_of(endpoint: Endpoint) -> QuerySet[Delivery]:
    """An endpoint's deliveries, newest first (the webhooks_delivery_page index)."""
    return endpoint.deliveries.select_related("message").order_by("-created_at", "-id")


def deliveries_page(endpoint: Endpoint, *, before=None, size: int) -> tuple[list[Delivery], int | None]:
    """One page of the delivery log, newest first, from after the delivery `before` (a keyset
    on the webhooks_delivery_page index: as fast a thousand pages deep as on the first, where an
    OFFSET reads and sorts every row above), and the cursor of the next page (None: the last)."""
    queryset = deliveries_of(endpoint)
    try:
        cursor = endpoint.deliveries.filter(pk=int(before)).values("created_at", "pk").first() if before else None
    except (TypeError, ValueError):
        cursor = None
    if cursor is not None:
        # `created_at <= t` bounds the index range; the OR only breaks the ties at t.
        queryset = queryset.filter(created_at__lte=cursor["created_at"]).filter(
            Q(created_at__lt=cursor["created_at"]) | Q(pk__lt=cursor["pk"])
        )
    rows = list(queryset[: size + 1])
    return rows[:size], (rows[size - 1].pk if len(rows) > size else None)


def get_delivery_for_user(user: User, endpoint_id, delivery_id, *, cap: Cap | None = None) -> Delivery:
    endpoint = get_endpoint_for_user(user, endpoint_id, cap=cap)
    try:
        return deliveries_of(endpoint).get(pk=delivery_id)
    except (Delivery.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def attempts_of(delivery: Delivery) -> QuerySet[Attempt]:
    """A delivery's attempts, newest first."""
    return delivery.attempts.order_by("-attempted_at", "-id")
