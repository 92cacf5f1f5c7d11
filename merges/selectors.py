"""Reads of the merges app: who sees which request, who may decide it, the merge suggestions, and
the previews of what a merge or a transfer would do (DESIGN.md §11)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from accounts.selectors import managed_organization_ids
from customers import hooks
from customers.models import CONTRACTED_USERS_MAX, CustomerAccount, CustomerStatus
from customers.selectors import customers_visible_to
from customers.services import INFO_FIELDS, RESELLER_FIELDS
from msp_portal import dates
from msp_portal.permissions import Cap, OrganizationKind, check_cap
from points.models import LedgerAccount, LedgerAccountKind, Transfer, TransferKind
from points.rules import rule_at
from points.settlement import settlement_for

from .models import AccountRequest, DismissedSuggestion, MergeSearch, RequestStatus

MSP_KINDS = (OrganizationKind.MSP, OrganizationKind.PRIVILEGED_MSP)
_MSP_CODE = re.compile(r"^MSP-?(\d{1,12})$", re.IGNORECASE)
# How many suggestion pairs the dashboard lists, and how many accounts of one domain a pair is
# made from (a domain shared by more is shown as pairs of its first accounts).
DASHBOARD_SUGGESTIONS = 5
ACCOUNTS_PER_DOMAIN = 4
# How long the accounts a search found may be named in a merge request.
SEARCH_RESULT_HOURS = 24


# --- MSP codes ---------------------------------------------------------------------------------


def msp_code(organization: Organization) -> str:
    """The code an MSP gives another to receive a transfer (Partner Center's partner id)."""
    return f"MSP-{organization.pk:05d}"


def msp_for_code(code: str) -> Organization | None:
    """The active MSP (or privileged MSP) with this code, else None."""
    match = _MSP_CODE.match((code or "").strip())
    if match is None:
        return None
    return Organization.objects.filter(pk=int(match.group(1)), kind__in=MSP_KINDS, is_active=True).first()


# --- Requests ------------------------------------------------------------------------------------


def _managed(user: User) -> list[int] | None:
    return managed_organization_ids(user) if user.is_authenticated else []


def requests_visible_to(user: User) -> QuerySet[AccountRequest]:
    """Every request for the operator; for MSP staff those their organizations sent or must
    decide, or that name one of their accounts."""
    queryset = AccountRequest.objects.select_related(
        "customer",
        "survivor",
        "requested_by",
        "decided_by",
        "requesting_organization",
        "deciding_organization",
        "from_organization",
        "to_organization",
    )
    ids = _managed(user)
    if ids is None:
        return queryset
    if not ids:
        return queryset.none()
    return queryset.filter(
        Q(requesting_organization_id__in=ids)
        | Q(deciding_organization_id__in=ids)
        | Q(from_organization_id__in=ids)
        | Q(to_organization_id__in=ids)
    )


def get_request_for_user(user: User, request_id, *, cap: Cap | None = None) -> AccountRequest:
    """The request if the user may see it (else 404), checked for `cap` (else 403)."""
    try:
        account_request = requests_visible_to(user).get(pk=request_id)
    except (AccountRequest.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if cap is not None:
        check_cap(user, cap)
    return account_request


def received_requests(user: User) -> QuerySet[AccountRequest]:
    """What the user's side decides: requests to their organizations (the operator: all)."""
    ids = _managed(user)
    queryset = requests_visible_to(user)
    return queryset if ids is None else queryset.filter(deciding_organization_id__in=ids)


def sent_requests(user: User) -> QuerySet[AccountRequest]:
    """What the user's organizations asked for."""
    ids = _managed(user)
    queryset = requests_visible_to(user)
    if ids is None:
        return queryset.filter(requesting_organization=user.organization)
    return queryset.filter(requesting_organization_id__in=ids)


def decision_refusal(user: User, account_request: AccountRequest) -> str | None:
    """Why the user may not decide the request (a translated sentence), or None when they may:
    an admin of the deciding side or the operator, never the requester (four-eyes)."""
    if account_request.requested_by_id == user.pk:
        return _("You made this request: another administrator must approve or reject it.")
    ids = _managed(user)
    if ids is not None and account_request.deciding_organization_id not in ids:
        return _("This request is decided by %(organization)s.") % {
            "organization": account_request.deciding_organization.name
        }
    return None


def may_cancel(user: User, account_request: AccountRequest) -> bool:
    """The requester's side (or the operator) may withdraw its pending request."""
    ids = _managed(user)
    return ids is None or account_request.requesting_organization_id in ids


def pending_requests_for(customer_ids) -> QuerySet[AccountRequest]:
    """The pending requests (not yet past their time) that name any of these accounts."""
    ids = list(customer_ids)
    return AccountRequest.objects.filter(status=RequestStatus.PENDING, expires_at__gt=timezone.now()).filter(
        Q(customer_id__in=ids) | Q(survivor_id__in=ids)
    )


def requests_of_customer(customer: CustomerAccount, user: User) -> QuerySet[AccountRequest]:
    """The requests naming the account that the user may see, newest first."""
    return requests_visible_to(user).filter(Q(customer=customer) | Q(survivor=customer))


def merged_into(customer: CustomerAccount) -> CustomerAccount | None:
    """The account a merged account was absorbed into."""
    account_request = (
        AccountRequest.objects.filter(customer=customer, kind="merge", status=RequestStatus.APPROVED)
        .select_related("survivor")
        .first()
    )
    return account_request.survivor if account_request is not None else None


# --- Suggestions and the search -----------------------------------------------------------------


def _dismissed_pairs(organization: Organization, customer_ids: list[int]) -> set[tuple[int, int]]:
    rows = DismissedSuggestion.objects.filter(organization=organization).filter(
        Q(first_id__in=customer_ids) | Q(second_id__in=customer_ids)
    )
    return set(rows.values_list("first_id", "second_id"))


def suggestion_pairs(user: User, limit: int = DASHBOARD_SUGGESTIONS) -> list[tuple[CustomerAccount, CustomerAccount]]:
    """Merge suggestions (the seed's 「メールのドメインに基づいて…提案されます」): pairs of active
    accounts the user sees that share a primary e-mail domain, minus the pairs their
    organization dismissed, the first `limit` by domain. Grouped on the (MSP, domain) index of
    active accounts."""
    visible = customers_visible_to(user).filter(status=CustomerStatus.ACTIVE)
    pairs: list[tuple[CustomerAccount, CustomerAccount]] = []
    shared = visible.values("email_domain").annotate(n=Count("id")).filter(n__gte=2).order_by("email_domain")
    for offset in range(0, 10 * limit, limit):
        domains = [row["email_domain"] for row in shared[offset : offset + limit]]
        if not domains:
            break
        accounts = list(
            visible.filter(email_domain__in=domains).select_related("organization").order_by("email_domain", "id")
        )
        dismissed = _dismissed_pairs(user.organization, [account.pk for account in accounts])
        by_domain: dict[str, list[CustomerAccount]] = {}
        for account in accounts:
            by_domain.setdefault(account.email_domain, []).append(account)
        for domain in domains:
            group = by_domain.get(domain, [])[:ACCOUNTS_PER_DOMAIN]
            for index, first in enumerate(group):
                for second in group[index + 1 :]:
                    if (first.pk, second.pk) not in dismissed:
                        pairs.append((first, second))
                        if len(pairs) >= limit:
                            return pairs
    return pairs


def suggestions_for(user: User, customer: CustomerAccount, limit: int = 10) -> list[CustomerAccount]:
    """The active accounts the user sees that share this active account's primary e-mail domain,
    minus the pairs their organization dismissed."""
    if customer.status != CustomerStatus.ACTIVE:
        return []
    others = list(
        customers_visible_to(user)
        .filter(status=CustomerStatus.ACTIVE, email_domain=customer.email_domain)
        .exclude(pk=customer.pk)
        .select_related("organization")
        .order_by("id")[:limit]
    )
    dismissed = _dismissed_pairs(user.organization, [customer.pk])
    return [other for other in others if tuple(sorted((customer.pk, other.pk))) not in dismissed]


def searches_today(user: User) -> int:
    return MergeSearch.objects.filter(user=user, searched_at__gte=dates.start_of_day(dates.today())).count()


def found_by_search(user: User, customer: CustomerAccount) -> bool:
    """Whether one of the user's recent searches found the account (only such accounts of other
    MSPs may be named in the user's merge request)."""
    since = timezone.now() - dt.timedelta(hours=SEARCH_RESULT_HOURS)
    return MergeSearch.objects.filter(user=user, searched_at__gte=since, found=customer).exists()


def merge_partner_for(user: User, pk) -> CustomerAccount:
    """The other account of a merge the user requests: one they see, or one of another MSP that
    their recent search found (else 404)."""
    try:
        return customers_visible_to(user).select_related("organization").get(pk=pk)
    except (CustomerAccount.DoesNotExist, ValueError, TypeError):
        pass
    try:
        customer = CustomerAccount.objects.with_points().select_related("organization").get(pk=pk)
    except (CustomerAccount.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if not found_by_search(user, customer):
        raise Http404
    return customer


def sees_both(user: User, first: CustomerAccount, second: CustomerAccount) -> bool:
    """Whether the user sees both accounts of a merge; otherwise its preview hides the other MSP's
    data (fields, points, people) until that MSP decides: its search revealed only the code, the
    company name and the MSP."""
    return customers_visible_to(user).filter(pk__in=[first.pk, second.pk]).count() == 2


# --- Previews ------------------------------------------------------------------------------------


def _wallet(customer: CustomerAccount) -> LedgerAccount | None:
    return LedgerAccount.objects.filter(kind=LedgerAccountKind.WALLET, customer_id=customer.pk).first()


def next_charge_day(customer: CustomerAccount, today: dt.date) -> dt.date:
    """The 25th the account's estimate looks at: this month's until it is charged, else next month's."""
    this_25, next_25 = dates.next_charge_days(today)
    if today < this_25:
        return this_25
    wallet = _wallet(customer)
    charged = (
        wallet is not None
        and Transfer.objects.filter(
            kind=TransferKind.CONSUMPTION, debit_account_id=wallet.pk, period=dates.period_of(this_25)
        ).exists()
    )
    return next_25 if charged else this_25


@dataclass
class FieldRow:
    label: str
    survivor: Any
    absorbed: Any

    @property
    def differs(self) -> bool:
        return self.survivor != self.absorbed


@dataclass
class MergePreview:
    """What approving the merge of `absorbed` into `survivor` would do, as of now."""

    absorbed: CustomerAccount
    survivor: CustomerAccount
    fields: list[FieldRow]
    users_before: tuple[int, int]
    users_after: int
    absorbed_balance: int
    absorbed_owed: int
    absorbed_moves: int  # the merge transfer: + to the survivor, − from it
    survivor_balance: int
    points_after: int
    crosses_msps: bool
    people: dict[str, Any]
    dropped_cancellation_date: dt.date | None
    dropped_support_account: Organization | None
    estimate_day: dt.date
    estimate_after: int
    problems: list[str] = field(default_factory=list)


def merge_preview(
    absorbed: CustomerAccount, survivor: CustomerAccount, *, keep_admins: bool = False, today: dt.date | None = None
) -> MergePreview:
    """The merge request form's and the approval page's preview: each field's surviving value,
    the contracted users added up, the points after (the absorbed account first pays the 25ths
    it owes, as at a cancellation, then its balance moves to the survivor), who moves, what is
    dropped, and the survivor's estimate after the next 25th."""
    today = today or dates.today()
    settlement = settlement_for(absorbed, today=today)
    survivor_wallet = _wallet(survivor)
    survivor_balance = survivor_wallet.balance if survivor_wallet is not None else 0
    users_after = survivor.contracted_users + absorbed.contracted_users
    points_after = survivor_balance + settlement.after_charges
    day = next_charge_day(survivor, today)
    charged = survivor.status == CustomerStatus.ACTIVE and survivor.activated_at is not None
    estimate_after = points_after - (rule_at(day).consumption(users_after) if charged else 0)
    labels = {name: CustomerAccount._meta.get_field(name).verbose_name for name in [*INFO_FIELDS, *RESELLER_FIELDS]}
    rows = [
        FieldRow(str(labels[name]), getattr(survivor, name), getattr(absorbed, name))
        for name in [*INFO_FIELDS, *RESELLER_FIELDS]
    ]
    people = hooks.merge_people_preview(absorbed, survivor, keep_admins)
    problems = []
    for customer in (absorbed, survivor):
        if customer.status != CustomerStatus.ACTIVE:
            problems.append(
                _("%(code)s is %(status)s: only active accounts can be merged.")
                % {"code": customer.account_code, "status": customer.get_status_display()}
            )
    if survivor.cancellation_date is not None:
        problems.append(
            _("The surviving account %(code)s has a cancellation date: clear it before the merge.")
            % {"code": survivor.account_code}
        )
    if users_after > CONTRACTED_USERS_MAX:
        problems.append(
            _("The contracted users added up (%(users)s) would exceed %(max)s.")
            % {"users": f"{users_after:,}", "max": f"{CONTRACTED_USERS_MAX:,}"}
        )
    if people["clashes"]:
        problems.append(
            _("These user names exist in both accounts: %(names)s. Rename or disable them in one account first.")
            % {"names": ", ".join(people["clashes"])}
        )
    if people["active_users_after"] > users_after:
        problems.append(
            _(
                "After the merge the surviving account would have %(after)s active users, more than its "
                "%(limit)s contracted users. Keep the former administrators as administrators, or disable users first."
            )
            % {"after": people["active_users_after"], "limit": users_after}
        )
    return MergePreview(
        absorbed=absorbed,
        survivor=survivor,
        fields=rows,
        users_before=(survivor.contracted_users, absorbed.contracted_users),
        users_after=users_after,
        absorbed_balance=settlement.balance,
        absorbed_owed=settlement.owed,
        absorbed_moves=settlement.after_charges,
        survivor_balance=survivor_balance,
        points_after=points_after,
        crosses_msps=absorbed.organization_id != survivor.organization_id,
        people=people,
        dropped_cancellation_date=absorbed.cancellation_date,
        dropped_support_account=absorbed.support_account,
        estimate_day=day,
        estimate_after=estimate_after,
        problems=problems,
    )


@dataclass
class TransferPreview:
    """What accepting the transfer of `customer` to `to_organization` would do."""

    customer: CustomerAccount
    from_organization: Organization
    to_organization: Organization
    balance: int
    support_account: Organization | None
    cancellation_date: dt.date | None
    admins: int
    users: int


def transfer_preview(customer: CustomerAccount, to_organization: Organization) -> TransferPreview:
    """The account, its wallet and balance (a negative one is inherited by the new MSP), its
    people and history move; the support assignment is cleared; the old MSP's pool is not touched."""
    people = hooks.merge_people_preview(customer, customer, True)
    wallet = _wallet(customer)
    return TransferPreview(
        customer=customer,
        from_organization=customer.organization,
        to_organization=to_organization,
        balance=wallet.balance if wallet is not None else 0,
        support_account=customer.support_account,
        cancellation_date=customer.cancellation_date,
        admins=len(people["admins"]),
        users=len(people["users"]),
    )
