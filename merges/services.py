"""Writes of merge and transfer requests (DESIGN.md §11): one request mechanism for both.

A request is `pending` until the other side decides it (`approved`, `rejected`), the requester's
side withdraws it (`cancelled`) or the daily run finds it past its time (`expired`). An account
named in a pending request cannot be cancelled, merged or transferred elsewhere meanwhile.

Lock order (points.ledger's, with the request first): the request row; then the customer rows
in id order (customers.services.lock_customers); then their wallets in id order and `consumed`
last (points.ledger.lock_accounts). Whatever decides is read on the rows as locked: two
approvals of one request execute it once (the second finds it approved), and an account
cancelled after the request was made is refused at approval. The monthly run's chunks lock
wallets in id order and then `consumed`, the same order: a merge and a run never wait for each
other in a cycle, and whichever comes second sees what the first committed (the merge charges
the absorbed account's owed 25ths itself, the run no longer charges a merged account).

Every step is audited (one event per account it names) and e-mails the other side's admins after
commit, each in their language.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from accounts.selectors import managed_organization_ids
from audit.services import audit_record
from customers import hooks
from customers.models import CONTRACTED_USERS_MAX, CustomerAccount, CustomerStatus
from customers.services import customer_change_contract, customer_transition, lock_customers
from msp_portal import dates
from msp_portal.errors import DomainError, retried_atomic
from msp_portal.mail import render_subject
from msp_portal.permissions import OrganizationKind, Role
from points import ledger
from points.models import LedgerAccount, LedgerAccountKind, TransferKind
from points.rules import consumption_key, snapshot_for
from points.settlement import settlement_for

from .models import AccountRequest, DismissedSuggestion, MergeSearch, RequestKind, RequestStatus
from .selectors import MSP_KINDS, decision_refusal, found_by_search, may_cancel, msp_code, pending_requests_for

S = CustomerStatus


def merge_key(absorbed_id: int) -> str:
    return f"merge:{absorbed_id}"


def merge_snapshot(absorbed: CustomerAccount, survivor: CustomerAccount) -> dict[str, Any]:
    """What a `merge` transfer carries besides its `customer` (the absorbed account): both
    customers, by id and code (points.selectors.check_merges reads them)."""
    return {
        "absorbed": absorbed.pk,
        "survivor": survivor.pk,
        "absorbed_code": absorbed.account_code,
        "survivor_code": survivor.account_code,
    }


# --- Guards ---------------------------------------------------------------------------------------


def check_no_pending_request(customer: CustomerAccount) -> None:
    """Refuse (DomainError) when the account is named in a pending request: it cannot be
    cancelled, merged or transferred elsewhere until that request is decided. Added to
    customers.hooks.cancellation_checks; the caller holds the account's row lock."""
    pending = pending_requests_for([customer.pk]).order_by("pk").first()
    if pending is not None:
        raise DomainError(
            _(
                "%(code)s has a pending %(kind)s request (#%(id)s): it cannot be cancelled, merged or "
                "transferred until that request is approved, rejected or withdrawn."
            )
            % {"code": customer.account_code, "kind": pending.get_kind_display(), "id": pending.pk}
        )


def _require_active(customer: CustomerAccount, message: str) -> None:
    if customer.status != S.ACTIVE:
        raise DomainError(message % {"code": customer.account_code, "status": customer.get_status_display()})


def _replay(idempotency_key: str, actor: User) -> AccountRequest | None:
    existing = AccountRequest.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None and existing.requested_by_id != actor.pk:
        raise DomainError(_("This form was already submitted. Reload the page and try again."))
    return existing


def _audit(actor, action: str, account_request: AccountRequest, *, before=None, after=None, organization=None):
    """One event per account the request names, so that each account's trail shows it."""
    customers = [account_request.customer]
    if account_request.survivor_id:
        customers.append(account_request.survivor)
    for customer in customers:
        audit_record(
            actor=actor,
            action=action,
            obj=account_request,
            organization=organization or getattr(actor, "organization", None),
            customer=customer,
            before=before,
            after={"kind": account_request.kind, "request": account_request.pk, **(after or {})},
        )


def _save_request(account_request: AccountRequest) -> AccountRequest:
    try:
        with transaction.atomic():
            account_request.save()
    except IntegrityError:
        # The pending-request indexes: another request got in first (the row locks make it rare).
        raise DomainError(_("One of these accounts already has a pending merge or transfer request.")) from None
    return account_request


# --- Requests ---------------------------------------------------------------------------------


@retried_atomic
def merge_request_create(
    *,
    actor: User,
    customer: CustomerAccount,
    other: CustomerAccount,
    survivor_is_other: bool,
    note: str,
    idempotency_key: str,
) -> AccountRequest:
    """Ask to merge `customer` (an account the actor manages) and `other` (one they manage, or
    one of another MSP their search found), the survivor being `other` or `customer` (the seed's
    アカウントオーナー choice), with a note. Both must be active, neither named in a pending
    request, the survivor without a cancellation date. Decided by `other`'s MSP (within one MSP
    by another admin). E-mails the deciding side's admins after commit."""
    replay = _replay(idempotency_key, actor)
    if replay is not None:
        return replay
    if customer.pk == other.pk:
        raise DomainError(_("Choose another account to merge with."))
    managed = managed_organization_ids(actor)
    if managed is not None and customer.organization_id not in managed:
        raise DomainError(_("You can request merges only for your own customer accounts."))
    if managed is not None and other.organization_id not in managed and not found_by_search(actor, other):
        raise DomainError(_("Find the other MSP's account with the search first."))
    locked = lock_customers([customer.pk, other.pk])
    customer, other = locked[customer.pk], locked[other.pk]
    for account in (customer, other):
        _require_active(account, _("%(code)s is %(status)s: only active accounts can be merged."))
        check_no_pending_request(account)
    survivor, absorbed = (other, customer) if survivor_is_other else (customer, other)
    if survivor.cancellation_date is not None:
        raise DomainError(
            _("The surviving account %(code)s has a cancellation date: clear it before the merge.")
            % {"code": survivor.account_code}
        )
    if survivor.contracted_users + absorbed.contracted_users > CONTRACTED_USERS_MAX:
        raise DomainError(
            _("The contracted users added up (%(users)s) would exceed %(max)s.")
            % {
                "users": f"{survivor.contracted_users + absorbed.contracted_users:,}",
                "max": f"{CONTRACTED_USERS_MAX:,}",
            }
        )
    now = timezone.now()
    account_request = _save_request(
        AccountRequest(
            kind=RequestKind.MERGE,
            requested_by=actor,
            requesting_organization=actor.organization,
            deciding_organization=other.organization,
            customer=absorbed,
            survivor=survivor,
            from_organization=absorbed.organization,
            note=(note or "").strip(),
            created_at=now,
            expires_at=now + dt.timedelta(days=settings.PORTAL_REQUEST_EXPIRY_DAYS),
            idempotency_key=idempotency_key,
        )
    )
    _audit(
        actor,
        "merge_request.create",
        account_request,
        after={
            "absorbed_code": absorbed.account_code,
            "survivor_code": survivor.account_code,
            "note": account_request.note,
        },
    )
    _notify(account_request, "requested")
    return account_request


def _direct_transfer_allowed(actor: User, customer: CustomerAccount, to_organization: Organization) -> bool:
    """The operator transfers directly; a privileged MSP moves a customer between its own
    organizations (itself and its child MSPs) directly."""
    organization = actor.organization
    if organization is None:
        return False
    if organization.kind == OrganizationKind.OPERATOR:
        return True
    managed = managed_organization_ids(actor) or []
    return (
        organization.kind == OrganizationKind.PRIVILEGED_MSP
        and customer.organization_id in managed
        and to_organization.pk in managed
    )


def _check_transfer(customer: CustomerAccount, to_organization: Organization) -> None:
    _require_active(customer, _("%(code)s is %(status)s: only active accounts can be transferred."))
    if to_organization.kind not in MSP_KINDS or not to_organization.is_active:
        raise DomainError(_("Name an active MSP to transfer the account to."))
    if to_organization.pk == customer.organization_id:
        raise DomainError(_("The account already belongs to this MSP."))


@retried_atomic
def transfer_request_create(
    *, actor: User, customer: CustomerAccount, to_organization: Organization, note: str, idempotency_key: str
) -> AccountRequest:
    """Ask to transfer an active account the actor's MSP manages to another MSP (named by its
    code), with a note; the receiving MSP's admins accept or reject it. The operator, and a
    privileged MSP between its own organizations, transfer directly instead (the request is
    recorded approved at once, as the audit trail of the move)."""
    replay = _replay(idempotency_key, actor)
    if replay is not None:
        return replay
    managed = managed_organization_ids(actor)
    if managed is not None and customer.organization_id not in managed:
        raise DomainError(_("You can transfer only your own customer accounts."))
    customer = lock_customers([customer.pk])[customer.pk]
    _check_transfer(customer, to_organization)
    check_no_pending_request(customer)
    now = timezone.now()
    account_request = _save_request(
        AccountRequest(
            kind=RequestKind.TRANSFER,
            requested_by=actor,
            requesting_organization=actor.organization,
            deciding_organization=to_organization,
            customer=customer,
            from_organization=customer.organization,
            to_organization=to_organization,
            note=(note or "").strip(),
            created_at=now,
            expires_at=now + dt.timedelta(days=settings.PORTAL_REQUEST_EXPIRY_DAYS),
            idempotency_key=idempotency_key,
        )
    )
    _audit(
        actor,
        "transfer_request.create",
        account_request,
        after={
            "customer_code": customer.account_code,
            "from_msp": msp_code(customer.organization),
            "to_msp": msp_code(to_organization),
            "note": account_request.note,
        },
    )
    if _direct_transfer_allowed(actor, customer, to_organization):
        account_request.result = _transfer_execute(actor=actor, account_request=account_request)
        _close(account_request, RequestStatus.APPROVED, actor)
        _audit(actor, "account_request.approve", account_request, after={"direct": True, **account_request.result})
        _notify(account_request, "transferred")
    else:
        _notify(account_request, "requested")
    return account_request


def _lock_request(request_id: int) -> AccountRequest:
    account_request = (
        AccountRequest.objects.select_for_update(of=("self",))
        .select_related("customer", "survivor", "requesting_organization", "deciding_organization")
        .filter(pk=request_id)
        .first()
    )
    if account_request is None:
        raise DomainError(_("This request no longer exists."))
    return account_request


def _require_pending(account_request: AccountRequest) -> None:
    if not account_request.is_pending:
        raise DomainError(
            _("This request has already been decided (%(status)s).") % {"status": account_request.get_status_display()}
        )
    if account_request.is_overdue:
        raise DomainError(
            _("This request expired on %(date)s and can no longer be approved or rejected.")
            % {"date": timezone.localtime(account_request.expires_at, dates.TOKYO).date().isoformat()}
        )


def _close(account_request: AccountRequest, status: str, actor: User | None, reason: str = "") -> None:
    account_request.status = status
    account_request.decided_by = actor if actor is not None and actor.is_authenticated else None
    account_request.decided_at = timezone.now()
    account_request.reason = reason
    account_request.save(update_fields=["status", "decided_by", "decided_at", "reason", "keep_admins", "result"])


@retried_atomic
def request_approve(
    *, actor: User, account_request: AccountRequest, confirmation: str = "", keep_admins: bool = False
) -> AccountRequest:
    """Approve a pending request and carry it out, in one transaction. Only the deciding side's
    admins or the operator, never the requester; a merge needs the absorbed account's code typed
    as confirmation (it cannot be undone: 「アカウントの統合はやり直しできません」). An expired
    request, or one whose accounts are no longer active, is refused with nothing changed."""
    account_request = _lock_request(account_request.pk)
    _require_pending(account_request)
    refusal = decision_refusal(actor, account_request)
    if refusal:
        raise DomainError(refusal)
    if account_request.is_merge:
        if (confirmation or "").strip() != account_request.customer.account_code:
            raise DomainError(
                _("Type the account code of the account that is absorbed (%(code)s) to confirm the merge.")
                % {"code": account_request.customer.account_code}
            )
        account_request.keep_admins = bool(keep_admins)
        account_request.result = _merge_execute(actor=actor, account_request=account_request)
    else:
        account_request.result = _transfer_execute(actor=actor, account_request=account_request)
    _close(account_request, RequestStatus.APPROVED, actor)
    _audit(actor, "account_request.approve", account_request, after=account_request.result)
    _notify(account_request, "approved")
    return account_request


@retried_atomic
def request_reject(*, actor: User, account_request: AccountRequest, reason: str) -> AccountRequest:
    """Reject a pending request with a reason (the deciding side or the operator, never the
    requester); nothing else changes. The requester's side is told by e-mail."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Enter the reason for rejecting the request."))
    account_request = _lock_request(account_request.pk)
    _require_pending(account_request)
    refusal = decision_refusal(actor, account_request)
    if refusal:
        raise DomainError(refusal)
    _close(account_request, RequestStatus.REJECTED, actor, reason)
    _audit(actor, "account_request.reject", account_request, after={"reason": reason})
    _notify(account_request, "rejected")
    return account_request


@retried_atomic
def request_cancel(*, actor: User, account_request: AccountRequest) -> AccountRequest:
    """Withdraw a pending request (the requester's side or the operator). The deciding side is
    told by e-mail."""
    account_request = _lock_request(account_request.pk)
    if not account_request.is_pending:
        raise DomainError(
            _("This request has already been decided (%(status)s).") % {"status": account_request.get_status_display()}
        )
    if not may_cancel(actor, account_request):
        raise DomainError(_("Only the side that made the request can withdraw it."))
    _close(account_request, RequestStatus.CANCELLED, actor)
    _audit(actor, "account_request.cancel", account_request)
    _notify(account_request, "cancelled")
    return account_request


def requests_expire(run_date: dt.date | None = None) -> dict[str, int]:
    """The daily run's step (customers.hooks.daily_run_steps): every request still pending past
    its time becomes `expired`, each in its own transaction under its row lock (a decision that
    got in first wins), audited and e-mailed to both sides. Returns {"requests_expired": n}."""
    now = timezone.now()
    expired = 0
    due = AccountRequest.objects.filter(status=RequestStatus.PENDING, expires_at__lte=now).order_by("pk")
    for request_id in list(due.values_list("pk", flat=True)):
        expired += _expire_one(request_id, now)
    return {"requests_expired": expired}


@retried_atomic
def _expire_one(request_id: int, now: dt.datetime) -> int:
    account_request = _lock_request(request_id)
    if not account_request.is_pending or account_request.expires_at > now:
        return 0
    _close(account_request, RequestStatus.EXPIRED, None)
    _audit(None, "account_request.expire", account_request, organization=account_request.deciding_organization)
    _notify(account_request, "expired")
    return 1


# --- Execution --------------------------------------------------------------------------------


def _merge_execute(*, actor: User, account_request: AccountRequest) -> dict[str, Any]:
    """Merge the absorbed account into the survivor, inside the approval's transaction and locks
    (the module's lock order). The survivor keeps its settings (support account, hidden menus,
    account code); the absorbed account first pays the 25ths it still owes (as a cancellation
    would: nothing it owes is lost, nothing is charged twice), then its balance moves by one
    `merge` transfer, either way, so its wallet ends at 0; the contracted users add up (a
    ContractChange on the survivor); its people move (customer_portal); it becomes `merged`, keeps
    its history and code, and is never charged again. Returns what it did."""
    today = dates.today()
    locked = lock_customers([account_request.customer_id, account_request.survivor_id])
    absorbed, survivor = locked[account_request.customer_id], locked[account_request.survivor_id]
    for customer in (absorbed, survivor):
        _require_active(customer, _("%(code)s is %(status)s now: the merge can no longer be carried out."))
    if survivor.cancellation_date is not None:
        raise DomainError(
            _("The surviving account %(code)s has a cancellation date: clear it before the merge.")
            % {"code": survivor.account_code}
        )
    users_after = survivor.contracted_users + absorbed.contracted_users
    if users_after > CONTRACTED_USERS_MAX:
        raise DomainError(
            _("The contracted users added up (%(users)s) would exceed %(max)s.")
            % {"users": f"{users_after:,}", "max": f"{CONTRACTED_USERS_MAX:,}"}
        )
    absorbed_wallet, survivor_wallet = ledger.wallet_for(absorbed.pk), ledger.wallet_for(survivor.pk)
    consumed = ledger.system_account(LedgerAccountKind.CONSUMED)
    accounts = ledger.lock_accounts(absorbed_wallet, survivor_wallet, consumed)
    absorbed_wallet, survivor_wallet = accounts[absorbed_wallet.pk], accounts[survivor_wallet.pk]
    consumed = accounts[consumed.pk]
    # Asked under the wallet locks: a run that charged meanwhile has committed its charges.
    settlement = settlement_for(absorbed, today=today)
    for charge in settlement.charges:
        ledger.post(
            kind=TransferKind.CONSUMPTION,
            debit=absorbed_wallet,
            credit=consumed,
            amount=charge.amount,
            idempotency_key=consumption_key(absorbed.pk, charge.period),
            customer=absorbed.pk,
            period=charge.period,
            snapshot=snapshot_for(charge.rule, charge.users, charge.charge_day, charge.period),
        )
    balance = absorbed_wallet.balance
    survivor_before = survivor_wallet.balance
    if balance:
        debit, credit = (absorbed_wallet, survivor_wallet) if balance > 0 else (survivor_wallet, absorbed_wallet)
        ledger.post(
            kind=TransferKind.MERGE,
            debit=debit,
            credit=credit,
            amount=abs(balance),
            idempotency_key=merge_key(absorbed.pk),
            actor=actor,
            customer=absorbed.pk,
            memo=f"{absorbed.account_code} → {survivor.account_code}",
            snapshot=merge_snapshot(absorbed, survivor),
        )
    contract_before = survivor.contracted_users
    survivor = customer_change_contract(actor=actor, customer=survivor, contracted_users=users_after)
    people = hooks.merge_people(
        actor=actor, absorbed=absorbed, survivor=survivor, keep_admins=account_request.keep_admins
    )
    dropped = {"cancellation_date": absorbed.cancellation_date, "support_account": absorbed.support_account_id}
    absorbed.cancellation_date = None
    absorbed.support_account = None
    customer_transition(
        customer=absorbed,
        to_status=S.MERGED,
        actor=actor,
        reason=_("Merged into %(code)s") % {"code": survivor.account_code},
        update_fields=["cancellation_date", "support_account"],
    )
    hooks.accounts_changed(CustomerAccount.objects.filter(pk__in=[absorbed.pk, survivor.pk]), today=today)
    result = {
        "absorbed_code": absorbed.account_code,
        "survivor_code": survivor.account_code,
        "charged_before_merge": {charge.period: charge.amount for charge in settlement.charges},
        "points_moved": balance,
        "crossed_msps": absorbed.organization_id != survivor.organization_id,
        "survivor_points": [survivor_before, survivor_before + balance],
        "contracted_users": [contract_before, users_after],
        "dropped": dropped,
        **people,
    }
    audit_record(
        actor=actor,
        action="customer.merge",
        obj=absorbed,
        before={"status": S.ACTIVE, "points_balance": settlement.balance, **dropped},
        after={"status": S.MERGED, "points_balance": 0, "survivor_code": survivor.account_code},
    )
    audit_record(
        actor=actor,
        action="customer.merge_survivor",
        obj=survivor,
        before={"points_balance": survivor_before, "contracted_users": contract_before},
        after={
            "points_balance": survivor_before + balance,
            "contracted_users": users_after,
            "absorbed_code": absorbed.account_code,
        },
    )
    hooks.customer_events(
        "customer.merged",
        [(absorbed, {"survivor": {"id": survivor.pk, "code": survivor.account_code}, "points_moved": balance})],
    )
    return result


def _transfer_execute(*, actor: User, account_request: AccountRequest) -> dict[str, Any]:
    """Move the account to the receiving MSP, inside the caller's transaction: the account row
    and its wallet locked (the ledger's order); its wallet and balance, admins, users and history
    go with it (they hang on the account); the support assignment is cleared (support accounts
    belong to one MSP); the old MSP loses access at once; no pool is touched."""
    customer = hooks.lock_with_ledger(account_request.customer_id, wallet=True, pool=False)
    to_organization = Organization.objects.get(pk=account_request.to_organization_id)
    _check_transfer(customer, to_organization)
    if customer.organization_id != account_request.from_organization_id:
        raise DomainError(_("The account has moved to another MSP since the request was made."))
    before = {"organization": customer.organization_id, "support_account": customer.support_account_id}
    balance = LedgerAccount.objects.filter(kind=LedgerAccountKind.WALLET, customer_id=customer.pk).values_list(
        "balance", flat=True
    )
    balance = balance.first() or 0
    customer.organization = to_organization
    customer.support_account = None
    customer.save(update_fields=["organization", "support_account", "updated_at"])
    # The wallet's copy of the customer's MSP (the list's points sorts by MSP read it).
    LedgerAccount.objects.filter(kind=LedgerAccountKind.WALLET, customer_id=customer.pk).update(
        msp_id=to_organization.pk
    )
    hooks.accounts_changed(CustomerAccount.objects.filter(pk=customer.pk))
    after = {"organization": to_organization.pk, "support_account": None, "points_balance": balance}
    for organization in (account_request.from_organization, to_organization):
        # Both MSPs' audit trails show the move.
        audit_record(
            actor=actor, action="customer.transfer", obj=customer, organization=organization, before=before, after=after
        )
    moved = {"from_msp_id": account_request.from_organization_id, "to_msp_id": to_organization.pk}
    # Both MSPs' endpoints are told: the one it joined and the one it left.
    hooks.customer_events("customer.transferred", [(customer, moved)])
    hooks.customer_events("customer.transferred", [(customer, moved)], organization_id=moved["from_msp_id"])
    return {
        "customer_code": customer.account_code,
        "from_msp": msp_code(account_request.from_organization),
        "to_msp": msp_code(to_organization),
        "points_balance": balance,
        "support_account_cleared": before["support_account"],
    }


# --- Suggestions and the search -------------------------------------------------------------------


@transaction.atomic
def suggestion_dismiss(*, actor: User, customer: CustomerAccount, other: CustomerAccount) -> DismissedSuggestion:
    """提案を削除: the pair is never suggested to the actor's organization again."""
    if customer.pk == other.pk:
        raise DomainError(_("Choose another account."))
    first, second = sorted((customer, other), key=lambda account: account.pk)
    dismissed, created = DismissedSuggestion.objects.get_or_create(
        organization=actor.organization, first=first, second=second, defaults={"dismissed_by": actor}
    )
    if created:
        audit_record(
            actor=actor,
            action="merge_suggestion.dismiss",
            obj=customer,
            after={"other": other.account_code},
        )
    return dismissed


@transaction.atomic
def merge_search(*, actor: User, query: str) -> list[CustomerAccount]:
    """Search other MSPs' active accounts by primary e-mail domain (or an address at it) or by
    account code, at most PORTAL_MERGE_SEARCHES_PER_DAY times per user and day (the seed's
    「5回まで検索できます」; counted under the user's row lock, so concurrent searches cannot pass
    the limit together). Audited; returns the accounts found (the page shows only their code,
    company name and MSP)."""
    term = (query or "").strip().lower()
    if "@" in term:
        term = term.rsplit("@", 1)[1]
    if not term or len(term) > 253:
        raise DomainError(_("Enter an e-mail domain or an account code."))
    User.objects.select_for_update().filter(pk=actor.pk).first()
    limit = settings.PORTAL_MERGE_SEARCHES_PER_DAY
    used = MergeSearch.objects.filter(user=actor, searched_at__gte=dates.start_of_day(dates.today())).count()
    if used >= limit:
        raise DomainError(_("You have used your %(limit)s searches for today. Try again tomorrow.") % {"limit": limit})
    managed = managed_organization_ids(actor)
    found = CustomerAccount.objects.filter(status=S.ACTIVE).filter(Q(email_domain=term) | Q(account_code=term))
    if managed is not None:
        found = found.exclude(organization_id__in=managed)
    found = list(found.select_related("organization").order_by("account_code")[:20])
    search = MergeSearch.objects.create(user=actor, query=term)
    search.found.set(found)
    audit_record(
        actor=actor,
        action="merge.search",
        obj=None,
        after={"query": term, "found": [account.account_code for account in found], "search": used + 1},
    )
    return found


# --- E-mails ------------------------------------------------------------------------------------


def _admins_of(organization_id: int) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True,
            membership__organization_id=organization_id,
            membership__role__in=(Role.ADMIN, Role.OPERATOR_ADMIN),
        )
        .exclude(email="")
        .order_by("email")
    )


def _recipients(account_request: AccountRequest, event: str) -> list[User]:
    """The other side's admins: a new or withdrawn request goes to the deciding side, a decision
    to the requester's side (the requester first), an expiry or a direct transfer to both."""
    deciding = _admins_of(account_request.deciding_organization_id)
    requesting = [account_request.requested_by, *_admins_of(account_request.requesting_organization_id)]
    if event in ("requested", "cancelled"):
        users = deciding
    elif event in ("approved", "rejected"):
        users = requesting
    else:
        users = requesting + deciding + _admins_of(account_request.from_organization_id)
    seen, result = set(), []
    for user in users:
        if user.pk in seen or not user.is_active or not user.email:
            continue
        if event in ("requested", "cancelled", "transferred") and user.pk == account_request.requested_by_id:
            continue
        seen.add(user.pk)
        result.append(user)
    return result


def _notify(account_request: AccountRequest, event: str) -> None:
    request_id = account_request.pk
    transaction.on_commit(lambda: send_request_email(request_id, event))


def send_request_email(request_id: int, event: str) -> int:
    """E-mail the other side of request `request_id` about `event` (requested, approved,
    rejected, cancelled, expired, transferred), each recipient in their language; returns the
    number sent."""
    account_request = AccountRequest.objects.select_related(
        "customer",
        "survivor",
        "requested_by",
        "decided_by",
        "requesting_organization",
        "deciding_organization",
        "from_organization",
        "to_organization",
    ).get(pk=request_id)
    url = settings.PORTAL_BASE_URL.rstrip("/") + reverse("merges:detail", args=[request_id])
    messages = []
    for user in _recipients(account_request, event):
        context = {"account_request": account_request, "user": user, "event": event, "url": url}
        with translation.override(user.language):
            subject = render_subject("merges/email/request_subject.txt", context)
            body = render_to_string("merges/email/request_body.txt", context)
        messages.append(EmailMessage(subject=subject, body=body, to=[user.email]))
    if messages:
        get_connection().send_messages(messages)
    return len(messages)
