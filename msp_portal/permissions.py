"""Who may do what: the one role → capability table (DESIGN.md §2).

Views declare the capability they need with `capability_required`; templates ask `user|can:"…"`;
the tests enumerate every URL against this same table. Hiding a button is never the check:
every request is checked on the server. Scoping (which objects a user sees at all) lives in the
selectors; this module only answers "may this role do that kind of thing".
"""

from __future__ import annotations

import enum
import secrets
import time
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext_lazy as _


class OrganizationKind(models.TextChoices):
    OPERATOR = "operator", _("Operator")
    PRIVILEGED_MSP = "privileged_msp", _("Privileged MSP")
    MSP = "msp", _("MSP")
    SUPPORT = "support", _("Support account")


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    SALES = "sales", _("Sales")
    BILLING = "billing", _("Billing")
    VIEWER = "viewer", _("Read-only")
    SUPPORT_STAFF = "support_staff", _("Support staff")
    OPERATOR_ADMIN = "operator_admin", _("Operator administrator")
    OPERATOR_VIEWER = "operator_viewer", _("Operator read-only")


# Which roles an organization of each kind can give its members.
ROLES_BY_KIND: dict[str, tuple[str, ...]] = {
    OrganizationKind.OPERATOR: (Role.OPERATOR_ADMIN, Role.OPERATOR_VIEWER),
    OrganizationKind.PRIVILEGED_MSP: (Role.ADMIN, Role.SALES, Role.BILLING, Role.VIEWER),
    OrganizationKind.MSP: (Role.ADMIN, Role.SALES, Role.BILLING, Role.VIEWER),
    OrganizationKind.SUPPORT: (Role.SUPPORT_STAFF,),
}


class Cap(enum.StrEnum):
    """A kind of action. Names read as `<area>.<verb>`."""

    DASHBOARD_VIEW = "dashboard.view"
    CUSTOMERS_VIEW = "customers.view"
    CUSTOMERS_EXPORT = "customers.export"
    CUSTOMERS_REGISTER = "customers.register"
    CUSTOMERS_EDIT = "customers.edit"
    CUSTOMERS_CONTRACT = "customers.contract"
    CUSTOMERS_DELIVERY_NOTICE = "customers.delivery_notice"
    CUSTOMERS_ASSIGN_SUPPORT = "customers.assign_support"
    CUSTOMERS_CUSTOMIZE = "customers.customize"
    CUSTOMERS_ARCHIVE = "customers.archive"
    CUSTOMERS_CANCEL = "customers.cancel"
    CUSTOMERS_CUSTOMER_SCREEN = "customers.customer_screen"
    CUSTOMERS_MERGE = "customers.merge"
    CUSTOMERS_TRANSFER = "customers.transfer"
    CUSTOMERS_APPROVE = "customers.approve"
    CUSTOMERS_PROVISION = "customers.provision"
    POINTS_VIEW = "points.view"
    POINTS_CHANGE = "points.change"
    POINTS_REPLENISH = "points.replenish"
    POINTS_PURCHASE_REQUEST = "points.purchase_request"
    POINTS_SELL = "points.sell"
    POINTS_ADJUST = "points.adjust"
    RULES_VIEW = "rules.view"
    RULES_EDIT = "rules.edit"
    STAFF_VIEW = "staff.view"
    STAFF_MANAGE = "staff.manage"
    SUPPORT_ACCOUNTS_MANAGE = "support_accounts.manage"
    MSPS_MANAGE = "msps.manage"
    AUDIT_VIEW = "audit.view"
    JOBS_VIEW = "jobs.view"
    JOBS_RUN = "jobs.run"
    WEBHOOKS_MANAGE = "webhooks.manage"
    API_KEYS_MANAGE = "api_keys.manage"


_READ = {
    Cap.DASHBOARD_VIEW,
    Cap.CUSTOMERS_VIEW,
    Cap.CUSTOMERS_EXPORT,
    Cap.POINTS_VIEW,
    Cap.RULES_VIEW,
}
_SALES = {
    Cap.CUSTOMERS_REGISTER,
    Cap.CUSTOMERS_EDIT,
    Cap.CUSTOMERS_CONTRACT,
    Cap.CUSTOMERS_DELIVERY_NOTICE,
    Cap.CUSTOMERS_ASSIGN_SUPPORT,
    Cap.CUSTOMERS_CUSTOMIZE,
    Cap.CUSTOMERS_ARCHIVE,
    Cap.CUSTOMERS_CUSTOMER_SCREEN,
}
# A request for points (ポイント購入申請) is the MSP's; recording or declining it is selling
# points (POINTS_SELL, the operator's).
_BILLING = {Cap.POINTS_CHANGE, Cap.POINTS_REPLENISH, Cap.POINTS_PURCHASE_REQUEST, Cap.CUSTOMERS_CANCEL}
_MSP_ADMIN_ONLY = {
    Cap.CUSTOMERS_MERGE,
    Cap.CUSTOMERS_TRANSFER,
    Cap.STAFF_VIEW,
    Cap.STAFF_MANAGE,
    Cap.SUPPORT_ACCOUNTS_MANAGE,
    Cap.AUDIT_VIEW,
    Cap.WEBHOOKS_MANAGE,
    Cap.API_KEYS_MANAGE,
}
_OPERATOR_ONLY = {
    Cap.CUSTOMERS_APPROVE,
    Cap.CUSTOMERS_PROVISION,
    Cap.POINTS_SELL,
    Cap.POINTS_ADJUST,
    Cap.RULES_EDIT,
    Cap.MSPS_MANAGE,
    Cap.JOBS_VIEW,
    Cap.JOBS_RUN,
}

ROLE_CAPABILITIES: dict[str, frozenset[Cap]] = {
    Role.ADMIN: frozenset(_READ | _SALES | _BILLING | _MSP_ADMIN_ONLY),
    Role.SALES: frozenset(_READ | _SALES),
    Role.BILLING: frozenset(_READ | _BILLING),
    Role.VIEWER: frozenset(_READ),
    # Support staff see only the customers assigned to their support account (the selectors
    # scope that), never the MSP's pool or rules.
    Role.SUPPORT_STAFF: frozenset({Cap.DASHBOARD_VIEW, Cap.CUSTOMERS_VIEW, Cap.CUSTOMERS_EXPORT}),
    Role.OPERATOR_ADMIN: frozenset(Cap),
    Role.OPERATOR_VIEWER: frozenset(_READ | {Cap.AUDIT_VIEW, Cap.JOBS_VIEW, Cap.STAFF_VIEW}),
}


# --- Re-authentication ("sudo mode") ---------------------------------------------------------------
# Actions that reach far (who may sign in and as what, the second factor, large point moves, the
# operator's approval and provisioning) ask the user to prove it is them again when their last
# check (sign-in, second factor or password) is older than PORTAL_REAUTHENTICATION_SECONDS.
# Keyed by URL name; the value, when not None, says whether this request is sensitive (a point
# move only above the organization's threshold). Only submissions (POST) are checked: the popup
# opens, and its submission asks. test_url_permissions sends each a stale session.


# How many points a request moves, for the point moves whose count is not the posted `amount`
# (a replenishment's needed points, a purchase request's amount): the app that owns the view
# registers it in its AppConfig.ready, since this base module imports no app above it.
_POINTS_MOVED: dict[str, Callable] = {}


def register_points_moved(view_name: str, count: Callable) -> None:
    """`count(request)` returns the points the request would move (0 when it moves none)."""
    _POINTS_MOVED[view_name] = count


def _posted_amount(request) -> int:
    try:
        return int(str(request.POST.get("amount", "")).replace(",", "").strip())
    except ValueError:
        return 0  # the form refuses it without moving anything


def _large_point_move(request) -> bool:
    """A point move (either sign: an adjustment may remove points) above the organization's
    threshold."""
    count = _POINTS_MOVED.get(request.resolver_match.view_name, _posted_amount)
    organization = request.user.organization
    return organization is not None and abs(count(request)) > organization.reauthentication_point_threshold


SENSITIVE_VIEWS: dict[str, Callable | None] = {
    "staff_invite": None,
    "staff_role": None,
    "staff_deactivate": None,
    "staff_reactivate": None,
    "staff_two_factor_reset": None,
    "staff_sessions_end": None,
    "support_account_create": None,
    "support_staff_invite": None,
    "organization_settings": None,
    "two_factor_disable": None,
    "passkey_remove": None,
    "customers:approve": None,
    "customers:reject": None,
    "customers:retry_provisioning": None,
    # Approving a merge or a transfer moves customer accounts, their points and their admins
    # between MSPs.
    "merges:approve": None,
    "points:change": _large_point_move,
    "points:purchase_new": _large_point_move,
    "points:adjustment_new": _large_point_move,
    "points:replenish": _large_point_move,
    "points:purchase_request_record": _large_point_move,
    "webhooks:endpoint_create": None,
    "webhooks:endpoint_edit": None,
    "webhooks:endpoint_delete": None,
    "webhooks:endpoint_rotate_secret": None,
    "webhooks:endpoint_enable": None,
    "webhooks:endpoint_test": None,
    "webhooks:delivery_redeliver": None,
    "api_key_create": None,
    "api_key_revoke": None,
}

# The session's time of the user's last check (seconds since the epoch), and the stashed
# submissions that wait for one.
REAUTHENTICATED_AT_SESSION_KEY = "portal_reauthenticated_at"
PENDING_SUBMISSIONS_SESSION_KEY = "portal_pending_submissions"
# Form fields never stashed: the CSRF token is minted anew on the confirmation form.
_NOT_STASHED = frozenset({"csrfmiddlewaretoken"})
_MAX_PENDING = 5


def mark_reauthenticated(request) -> None:
    """Record that the user just proved who they are (sign-in, second factor, password)."""
    request.session[REAUTHENTICATED_AT_SESSION_KEY] = time.time()


def recently_reauthenticated(request) -> bool:
    checked_at = request.session.get(REAUTHENTICATED_AT_SESSION_KEY)
    return checked_at is not None and time.time() - checked_at <= settings.PORTAL_REAUTHENTICATION_SECONDS


def is_sensitive(request) -> bool:
    match = getattr(request, "resolver_match", None)
    # Every state change of the portal is a POST; other methods get the view's own 405.
    if match is None or request.method != "POST" or match.view_name not in SENSITIVE_VIEWS:
        return False
    condition = SENSITIVE_VIEWS[match.view_name]
    return condition is None or condition(request)


def reauthentication_response(request):
    """None when the request may go on; otherwise stash its form data in the session and send
    the user to the check (a popup under htmx: the browser follows the redirect inside the
    popup's request), which returns to the action with the data filled in."""
    if not is_sensitive(request) or recently_reauthenticated(request):
        return None
    token = secrets.token_urlsafe(16)
    pending = dict(request.session.get(PENDING_SUBMISSIONS_SESSION_KEY, {}))
    # Keep the latest few: a user who opens many checks and completes none fills nothing up.
    for old in sorted(pending, key=lambda key: pending[key]["at"])[: max(0, len(pending) - _MAX_PENDING + 1)]:
        del pending[old]
    pending[token] = {
        "path": request.get_full_path(),
        "fields": [[name, value] for name, value in request.POST.lists() if name not in _NOT_STASHED],
        "at": time.time(),
    }
    request.session[PENDING_SUBMISSIONS_SESSION_KEY] = pending
    from django.http import HttpResponseRedirect
    from django.urls import reverse

    # 303: the browser (also htmx's request) follows with a GET.
    response = HttpResponseRedirect(f"{reverse('reauthenticate')}?{urlencode({'pending': token})}")
    response.status_code = 303
    return response


def role_of(user) -> str | None:
    """The user's staff role, or None for anonymous users and users without a membership."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    membership = getattr(user, "membership", None)
    return membership.role if membership is not None else None


def capabilities_of(user) -> frozenset[Cap]:
    """Everything the user's role may do: none for anonymous users and users without a role."""
    role = role_of(user)
    return ROLE_CAPABILITIES.get(role, frozenset()) if role is not None else frozenset()


def has_cap(user, cap: Cap | str) -> bool:
    role = role_of(user)
    return role is not None and Cap(cap) in ROLE_CAPABILITIES.get(role, frozenset())


def check_cap(user, cap: Cap | str) -> None:
    """Raise PermissionDenied (403) unless the user's role has the capability."""
    if not has_cap(user, cap):
        raise PermissionDenied


def capability_required(cap: Cap, *, scope: tuple[Callable, str] | None = None) -> Callable:
    """Decorate a view: anonymous users go to the login page, others need `cap` (else 403).

    A view of one object names the object's access helper and URL argument in `scope`, e.g.
    `scope=(get_customer_for_user, "pk")`. Scope comes before capability (DESIGN.md §2): a user
    whose role lacks `cap` is first asked of the helper, so an object outside their scope
    answers 404 whatever the role (a 403 would tell them it exists), and only a visible one 403.
    With the capability, the view resolves the object through the same helper.

    The capability and scope are recorded on the view (`view.capability`, `view.scope`) so that
    the URL-enumeration test can check every route against ROLE_CAPABILITIES.
    """

    def decorator(view_func):
        @wraps(view_func)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                # Imported here: auth.views imports the user model, which imports this module.
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            if not has_cap(request.user, cap):
                if scope is not None:
                    helper, argument = scope
                    helper(request.user, kwargs[argument])  # Http404 outside the user's scope
                raise PermissionDenied
            if is_sensitive(request) and not recently_reauthenticated(request):
                if scope is not None:
                    helper, argument = scope
                    helper(request.user, kwargs[argument])  # outside the scope: 404 before asking
                return reauthentication_response(request)
            return view_func(request, *args, **kwargs)

        wrapper.capability = cap
        wrapper.scope = scope
        return wrapper

    return decorator


def self_service(view_func):
    """Mark a view every signed-in user may use on their own behalf (profile, two-factor). A
    sensitive one (SENSITIVE_VIEWS) asks for the re-authentication first."""

    @wraps(view_func)
    def wrapper(request, *args, **kwargs):
        if request.user.is_authenticated:
            response = reauthentication_response(request)
            if response is not None:
                return response
        return view_func(request, *args, **kwargs)

    wrapper.capability = None
    wrapper.self_service = True
    return wrapper


def public(view_func):
    """Mark a view reachable without signing in (login, password reset, health check)."""
    view_func.capability = None
    view_func.public = True
    return view_func


def customer_portal_view(view_func):
    """Mark a view of the customer admin portal (/c/<account code>/…). Its access rule is not a
    staff capability but `customer_portal.access.portal_access`: the customer's own admins,
    managing MSP staff (write with CUSTOMERS_CUSTOMER_SCREEN, read-only without) and assigned
    support staff (read-only); everyone else gets 404."""
    view_func.capability = None
    view_func.customer_portal = True
    return view_func
