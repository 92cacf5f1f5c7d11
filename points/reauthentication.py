"""The points a request moves, for the re-authentication of large point moves
(msp_portal.permissions.SENSITIVE_VIEWS), where that count is not the posted amount."""

from customers.selectors import customers_visible_to
from msp_portal.requests import selected_ids

from .selectors import get_purchase_request_for_user
from .services import replenish_plan


def replenish_points(request) -> int:
    """Confirming a bulk replenishment moves what its accounts need together (as the preview
    showed it, computed again through the tenant scope); the preview (no token) moves nothing."""
    if "token" not in request.POST:
        return 0
    ids = selected_ids(request)
    if not ids:
        return 0
    customers = customers_visible_to(request.user).filter(pk__in=ids).select_related("organization")
    return sum(line.points for line in replenish_plan(customers))


def purchase_request_points(request) -> int:
    """Recording a purchase request adds its amount to the MSP's pool."""
    purchase_request = get_purchase_request_for_user(request.user, request.resolver_match.kwargs["request_id"])
    return purchase_request.amount
