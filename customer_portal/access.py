"""Who may open which customer's admin portal, and whether they may change things there.

Customer admins are not in the staff role table, so every customer-portal view goes through
`portal_access` (via the `portal_view` decorator) instead of a capability:
- an active admin of that customer: full access to the menus the MSP has not hidden; hidden
  menus answer 404 to them;
- MSP / operator staff who see the customer and hold CUSTOMERS_CUSTOMER_SCREEN: full access to
  every menu, audited as themselves "acting as" the customer;
- other staff who see the customer (support staff of its support account, read-only MSP roles):
  read-only, every POST answers 403;
- anyone else: 404, whether or not the account exists.
A cancelled or merged customer's portal stays readable to those people and is never writable;
accounts that were never activated have no portal.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse

from accounts.models import User
from audit.services import audit_record
from customers.lifecycle import PORTAL_STATUSES
from customers.menus import CUSTOMER_PORTAL_MENUS
from customers.models import CustomerAccount, CustomerStatus
from customers.selectors import customers_visible_to
from msp_portal import context
from msp_portal.permissions import Cap, customer_portal_view, has_cap

from .models import CustomerAdmin

SESSION_KEY = "customer_portal_acting_customer"
MENU_URL_NAMES = {
    "basic_info": "customer_portal:info",
    "admins": "customer_portal:admins",
    "users": "customer_portal:users",
    "user_bulk": "customer_portal:user_bulk",
}


@dataclass(frozen=True)
class PortalAccess:
    customer: CustomerAccount
    can_write: bool
    # The staff member viewing the portal, or None for the customer's own admin.
    acting_staff: User | None
    menu: str | None = None
    menus: list[dict] = field(default_factory=list)

    @property
    def is_customer_admin(self) -> bool:
        return self.acting_staff is None

    def check_write(self) -> None:
        if not self.can_write:
            raise PermissionDenied

    @contextmanager
    def acting(self):
        """The request's acting context, marked "acting as customer" when staff work here."""
        current = context.current()
        customer_id = self.customer.pk if self.acting_staff is not None else None
        with context.acting(ip=current.ip, acting_customer_id=customer_id, channel=current.channel):
            yield


def customer_admin_landing_page(user) -> str | None:
    """A customer admin has no staff pages: their home is their customer's admin portal."""
    admin = customer_admin_of(user)
    if admin is None:
        return None
    return reverse("customer_portal:home", kwargs={"account_code": admin.customer.account_code})


def customer_admin_of(user) -> CustomerAdmin | None:
    """The user's active customer-admin record, or None (staff and anonymous users)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if getattr(user, "membership", None) is not None:
        return None
    try:
        admin = user.customer_admin
    except CustomerAdmin.DoesNotExist:
        return None
    return admin if admin.is_active else None


def portal_access(request, account_code: str, *, menu: str | None = None) -> PortalAccess:
    """Resolve the portal of `account_code` for the signed-in user (404 / read-only / full), and
    404 a menu hidden from this customer's admins. (`portal_view` audits a staff member's entry
    once the request is known to be allowed.)"""
    user = request.user
    admin = customer_admin_of(user)
    if admin is not None:
        customer = (
            CustomerAccount.objects.select_related("organization")
            .filter(pk=admin.customer_id, account_code=account_code, status__in=PORTAL_STATUSES)
            .first()
        )
        if customer is None:
            raise Http404
        if menu is not None and menu in (customer.hidden_menus or []):
            raise Http404
        can_write = customer.status == CustomerStatus.ACTIVE
        staff = None
    else:
        customer = (
            customers_visible_to(user)
            .select_related("organization")
            .filter(account_code=account_code, status__in=PORTAL_STATUSES)
            .first()
        )
        if customer is None:
            raise Http404
        organization = user.organization
        can_write = (
            customer.status == CustomerStatus.ACTIVE
            and not organization.is_support
            and has_cap(user, Cap.CUSTOMERS_CUSTOMER_SCREEN)
        )
        staff = user
    return PortalAccess(
        customer=customer,
        can_write=can_write,
        acting_staff=staff,
        menu=menu,
        menus=_menus(customer, current=menu, staff=staff is not None),
    )


def _audit_entry(request, customer: CustomerAccount) -> None:
    """Record that a staff member entered the customer's portal (顧客画面), once per switch."""
    if request.session.get(SESSION_KEY) == customer.pk:
        return
    current = context.current()
    with context.acting(ip=current.ip, acting_customer_id=customer.pk, channel=current.channel):
        audit_record(actor=request.user, action="customer_portal.enter", obj=customer)
    request.session[SESSION_KEY] = customer.pk


def _menus(customer: CustomerAccount, *, current: str | None, staff: bool) -> list[dict]:
    hidden = set(customer.hidden_menus or [])
    menus = []
    for key, label in CUSTOMER_PORTAL_MENUS:
        if key in hidden and not staff:
            continue
        menus.append(
            {
                "key": key,
                "label": label,
                "url": reverse(MENU_URL_NAMES[key], kwargs={"account_code": customer.account_code}),
                "hidden": key in hidden,
                "active": key == current,
            }
        )
    return menus


def portal_view(menu: str | None) -> Callable:
    """Decorate a customer-portal view taking `(request, access, …)`: anonymous users go to the
    login page; everyone else goes through `portal_access`; any method other than GET/HEAD
    needs write access (else 403); the view runs in the request's acting context."""

    def decorator(view_func):
        @wraps(view_func)
        def wrapper(request, account_code, *args, **kwargs):
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            access = portal_access(request, account_code, menu=menu)
            if request.method not in ("GET", "HEAD"):
                access.check_write()
            if access.acting_staff is not None:
                # Only an allowed request enters the portal: a refused one leaves no trace of entry.
                _audit_entry(request, access.customer)
            with access.acting():
                return view_func(request, access, *args, **kwargs)

        return customer_portal_view(wrapper)

    return decorator
