"""Writes for customer accounts: registration, approval, provisioning, edits (DESIGN.md §3).

Every service is keyword-only, one transaction (`retried_atomic`: run once more if it
overlapped with another one), audited, and locks the account row before it reads the status it
decides on, so two people acting at once cannot both win (an approval and a withdrawal of the
same application, say). Every status change goes through
`customer_transition`, the one place that knows which transitions exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from audit.services import audit_record
from msp_portal.errors import DomainError, retried_atomic
from msp_portal.mail import render_subject
from msp_portal.permissions import OrganizationKind

from . import hooks
from .lifecycle import CODE_EDITABLE_STATUSES, READ_ONLY_STATUSES, TERMINAL_STATUSES, can_transition
from .menus import MENU_KEYS
from .models import CONTRACTED_USERS_MAX, ContractChange, CustomerAccount, CustomerStatus, CustomerStatusChange
from .search import SEARCH_FIELDS, customer_search_text

S = CustomerStatus

INFO_FIELDS = [
    "account_code",
    "company_name",
    "company_name_kana",
    "email_domain",
    "country",
    "address",
    "industry",
    "company_size",
    "contact_name",
    "contact_email",
    "phone",
]
RESELLER_FIELDS = ["reseller_name", "reseller_contact_name", "reseller_contact_email"]
REGISTRATION_FIELDS = [*INFO_FIELDS, "contracted_users", *RESELLER_FIELDS]
# 顧客情報 as the customer edits it in its own portal: the account code (the tenant id) is fixed.
CUSTOMER_EDITABLE_FIELDS = [name for name in INFO_FIELDS if name != "account_code"]


def lock_customers(customer_ids: Iterable[int]) -> dict[int, CustomerAccount]:
    """Lock the customer rows (only them, not the rows they join: SELECT … FOR UPDATE OF) in id
    order, and return them by id, with their organization. Step 1 of the lock order of
    points.ledger, which locks the ledger accounts after it."""
    ids = sorted(set(customer_ids))
    locked = (
        CustomerAccount.objects.select_for_update(of=("self",))
        .select_related("organization")
        .filter(pk__in=ids)
        .order_by("pk")
    )
    return {customer.pk: customer for customer in locked}


def _locked(customer: CustomerAccount | int, *, wallet: bool = False, pool: bool = False) -> CustomerAccount:
    """The account's row, locked for this transaction (a no-op lock on SQLite, whose
    IMMEDIATE transactions already serialize writers). With `wallet`, the account's wallet is
    locked after it (the lock order of points.ledger, through `hooks.lock_with_ledger`): for
    the services that change what the stored estimate depends on (status, contracted users,
    cancellation date), which they then rewrite; with `pool`, the MSP's pool too, for an
    ending that moves the account's points (an application's return, a settlement)."""
    customer_id = customer if isinstance(customer, int) else customer.pk
    if wallet or pool:
        return hooks.lock_with_ledger(customer_id, wallet=wallet, pool=pool)
    locked = lock_customers([customer_id]).get(customer_id)
    if locked is None:
        raise CustomerAccount.DoesNotExist(customer_id)
    return locked


def _record_transition(
    customer: CustomerAccount, from_status: str, to_status: str, actor: User | None, reason: str
) -> CustomerStatusChange:
    return CustomerStatusChange.objects.create(
        customer=customer, from_status=from_status, to_status=to_status, actor=actor, reason=reason
    )


def customer_transition(
    *, customer: CustomerAccount, to_status: str, actor: User | None, reason: str = "", update_fields: Iterable = ()
) -> CustomerStatusChange:
    """Move a locked account to `to_status` if the lifecycle allows it (else DomainError) and
    record who, when and why. Callers hold the row lock and run inside their transaction;
    `update_fields` names the other fields they changed on the instance, saved together. The
    stored estimate is rewritten, so callers lock the wallet too (`_locked(..., wallet=True)`)."""
    from_status = customer.status
    if not can_transition(from_status, to_status):
        raise DomainError(
            _("This account is %(status)s; that action is not possible now.")
            % {"status": CustomerStatus(from_status).label}
        )
    customer.status = to_status
    customer.save(update_fields=["status", "updated_at", *update_fields])
    # Whether the next 25th charges the account depends on its status: the stored estimate follows.
    hooks.accounts_changed(CustomerAccount.objects.filter(pk=customer.pk))
    return _record_transition(customer, from_status, to_status, actor, reason)


def _ensure_changeable(customer: CustomerAccount) -> None:
    if customer.status in READ_ONLY_STATUSES:
        raise DomainError(
            _("This account is %(status)s and can no longer be changed.")
            % {"status": CustomerStatus(customer.status).label}
        )


def _check_contracted_users(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError(_("Enter the number of contracted users as a whole number."))
    if not 1 <= value <= CONTRACTED_USERS_MAX:
        raise DomainError(
            _("The number of contracted users must be between 1 and %(max)s.") % {"max": f"{CONTRACTED_USERS_MAX:,}"}
        )
    return value


def _apply_changes(customer: CustomerAccount, changes: dict[str, Any], allowed: list[str]) -> dict[str, tuple]:
    """Set the changed fields on the instance; return {field: (before, after)}."""
    unknown = set(changes) - set(allowed)
    if unknown:
        raise DomainError(_("These fields cannot be changed here: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    if "account_code" in changes and changes["account_code"] != customer.account_code:
        if customer.status not in CODE_EDITABLE_STATUSES:
            raise DomainError(_("The account code is fixed once the account has been approved."))
        if CustomerAccount.objects.filter(account_code=changes["account_code"]).exclude(pk=customer.pk).exists():
            raise DomainError(_("This account code is already in use."))
    if not (changes.get("company_name", customer.company_name) or "").strip():
        raise DomainError(_("Enter the company name."))
    if not (changes.get("email_domain", customer.email_domain) or "").strip():
        raise DomainError(_("Enter the primary e-mail domain."))
    diff = {}
    for name, value in changes.items():
        before = getattr(customer, name)
        if before != value:
            diff[name] = (before, value)
            setattr(customer, name, value)
    return diff


def _save_changes(customer: CustomerAccount, diff: dict[str, tuple]) -> None:
    fields = list(diff)
    if set(fields) & set(SEARCH_FIELDS):
        customer.search_text = customer_search_text(customer)
        fields.append("search_text")
    try:
        with transaction.atomic():
            customer.save(update_fields=[*fields, "updated_at"])
    except IntegrityError:
        raise DomainError(_("This account code is already in use.")) from None


def _audit_diff(actor, action: str, customer: CustomerAccount, diff: dict[str, tuple], **extra) -> None:
    audit_record(
        actor=actor,
        action=action,
        obj=customer,
        before={name: pair[0] for name, pair in diff.items()} | extra.get("before", {}),
        after={name: pair[1] for name, pair in diff.items()} | extra.get("after", {}),
    )


def _write_contract_change(customer: CustomerAccount, old: int | None, new: int, actor: User | None) -> None:
    now = timezone.now()
    hooks.accounts_changed(CustomerAccount.objects.filter(pk=customer.pk))
    ContractChange.objects.create(
        customer=customer, old_users=old, new_users=new, effective_at=now, actor=actor, created_at=now
    )


@retried_atomic
def customer_register(*, actor: User, organization: Organization, data: dict[str, Any]) -> CustomerAccount:
    """Register a customer account for `organization` (an MSP the actor manages) with the
    fields of the 基本情報登録 popup. The account waits in the approval queue
    (pending_approval); the first ContractChange row records its contracted users."""
    from accounts.selectors import managed_organization_ids

    if organization.kind not in (OrganizationKind.MSP, OrganizationKind.PRIVILEGED_MSP) or not organization.is_active:
        raise DomainError(_("Customer accounts can only be registered for an active MSP."))
    managed = managed_organization_ids(actor)
    if managed is not None and organization.pk not in managed:
        raise DomainError(_("You cannot register customer accounts for that MSP."))
    unknown = set(data) - set(REGISTRATION_FIELDS)
    if unknown:
        raise DomainError(_("These fields cannot be changed here: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    users = _check_contracted_users(data.get("contracted_users"))
    if not (data.get("company_name") or "").strip():
        raise DomainError(_("Enter the company name."))
    if not (data.get("email_domain") or "").strip():
        raise DomainError(_("Enter the primary e-mail domain."))
    if CustomerAccount.objects.filter(account_code=data.get("account_code")).exists():
        raise DomainError(_("This account code is already in use."))
    now = timezone.now()
    customer = CustomerAccount(
        organization=organization,
        status=S.PENDING_APPROVAL,
        registered_at=now,
        submitted_at=now,
        registered_by=actor,
        **data,
    )
    customer.search_text = customer_search_text(customer)
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError:
        raise DomainError(_("This account code is already in use.")) from None
    hooks.wallets_open([customer])
    _record_transition(customer, "", S.PENDING_APPROVAL, actor, "")
    _write_contract_change(customer, None, users, actor)
    audit_record(
        actor=actor,
        action="customer.register",
        obj=customer,
        after={name: getattr(customer, name) for name in REGISTRATION_FIELDS} | {"organization": organization.pk},
    )
    hooks.customer_events("customer.registered", [(customer, {})])
    return customer


@retried_atomic
def customer_update(*, actor: User, customer: CustomerAccount, changes: dict[str, Any]) -> CustomerAccount:
    """Change customer info (基本情報) and reseller info (販売店情報). The account code can change
    only before approval; withdrawn, cancelled and merged accounts are read-only. Only the
    fields that really changed are saved and audited."""
    customer = _locked(customer)
    _ensure_changeable(customer)
    diff = _apply_changes(customer, changes, [*INFO_FIELDS, *RESELLER_FIELDS])
    if diff:
        _save_changes(customer, diff)
        _audit_diff(actor, "customer.update", customer, diff)
    return customer


def _enqueue_provisioning(customer: CustomerAccount) -> None:
    from .tasks import provision_customer

    customer_id = customer.pk
    transaction.on_commit(lambda: provision_customer.delay(customer_id))


@retried_atomic
def customer_approve(*, actor: User, customer: CustomerAccount) -> CustomerAccount:
    """Approve a pending application (operator). The account moves to provisioning and the
    provisioning task is enqueued once the approval is committed."""
    customer = _locked(customer, wallet=True)
    customer.approved_at = timezone.now()
    customer.provisioning_error = ""
    customer_transition(
        customer=customer,
        to_status=S.PROVISIONING,
        actor=actor,
        update_fields=["approved_at", "provisioning_error"],
    )
    audit_record(
        actor=actor,
        action="customer.approve",
        obj=customer,
        before={"status": S.PENDING_APPROVAL},
        after={"status": S.PROVISIONING},
    )
    hooks.customer_events("customer.approved", [(customer, {})])
    _enqueue_provisioning(customer)
    return customer


@retried_atomic
def customer_reject(*, actor: User, customer: CustomerAccount, reason: str) -> CustomerAccount:
    """Return a pending application to the MSP with a reason (差戻し); the registrant is told
    by e-mail. The MSP may correct and resubmit it, or withdraw it. Any points the application
    holds go back to the MSP's pool (`hooks.application_ended`)."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Enter the reason for returning the application."))
    customer = _locked(customer, pool=True)
    change = customer_transition(customer=customer, to_status=S.REJECTED, actor=actor, reason=reason)
    hooks.application_ended(actor=actor, customer=customer, status_change=change)
    audit_record(
        actor=actor,
        action="customer.reject",
        obj=customer,
        before={"status": S.PENDING_APPROVAL},
        after={"status": S.REJECTED, "reason": reason},
    )
    hooks.customer_events("customer.rejected", [(customer, {"reason": reason})])
    _notify_registrant(customer, "rejected", reason=reason)
    return customer


@retried_atomic
def customer_resubmit(*, actor: User, customer: CustomerAccount, changes: dict[str, Any]) -> CustomerAccount:
    """Correct a returned application and put it back in the approval queue. `changes` may hold
    any registration field; a new contracted-user count writes a ContractChange row. The
    3-business-day promise is counted again from the resubmission."""
    customer = _locked(customer, wallet=True)
    if customer.status != S.REJECTED:
        raise DomainError(_("Only a returned application can be resubmitted."))
    changes = dict(changes)
    new_users = changes.pop("contracted_users", customer.contracted_users)
    new_users = _check_contracted_users(new_users)
    diff = _apply_changes(customer, changes, [*INFO_FIELDS, *RESELLER_FIELDS])
    old_users = customer.contracted_users
    if new_users != old_users:
        diff["contracted_users"] = (old_users, new_users)
        customer.contracted_users = new_users
        _write_contract_change(customer, old_users, new_users, actor)
    if diff:
        _save_changes(customer, diff)
    customer.submitted_at = timezone.now()
    customer_transition(customer=customer, to_status=S.PENDING_APPROVAL, actor=actor, update_fields=["submitted_at"])
    _audit_diff(
        actor,
        "customer.resubmit",
        customer,
        diff,
        before={"status": S.REJECTED},
        after={"status": S.PENDING_APPROVAL},
    )
    return customer


@retried_atomic
def customer_withdraw(*, actor: User, customer: CustomerAccount, reason: str = "") -> CustomerAccount:
    """Withdraw a pending or returned application (取下げ). The account stays as a record and
    can be archived. Any points it holds go back to the MSP's pool, in this transaction."""
    customer = _locked(customer, pool=True)
    before = customer.status
    change = customer_transition(customer=customer, to_status=S.WITHDRAWN, actor=actor, reason=(reason or "").strip())
    hooks.application_ended(actor=actor, customer=customer, status_change=change)
    audit_record(
        actor=actor, action="customer.withdraw", obj=customer, before={"status": before}, after={"status": S.WITHDRAWN}
    )
    return customer


@retried_atomic
def customer_provisioning_retry(*, actor: User, customer: CustomerAccount) -> CustomerAccount:
    """Try a failed provisioning again (operator): back to provisioning, task enqueued."""
    customer = _locked(customer, wallet=True)
    customer_transition(customer=customer, to_status=S.PROVISIONING, actor=actor)
    audit_record(
        actor=actor,
        action="customer.provisioning_retry",
        obj=customer,
        before={"status": S.PROVISIONING_FAILED},
        after={"status": S.PROVISIONING},
    )
    _enqueue_provisioning(customer)
    return customer


def customer_provision(*, customer_id: int) -> CustomerAccount | None:
    """Create the tenant of an account in provisioning through the configured backend and
    activate it. Idempotent: an account no longer in provisioning (already active, or a
    duplicate delivery of the task) is left alone, and backends are idempotent by account
    code. Raises ProvisioningError for the task to retry. The backend is called outside any
    transaction so that no row lock is held while the service answers."""
    from .provisioning import TenantRequest, get_backend

    customer = CustomerAccount.objects.filter(pk=customer_id, status=S.PROVISIONING).first()
    if customer is None:
        return None
    get_backend().create_tenant(
        TenantRequest(
            account_code=customer.account_code,
            company_name=customer.company_name,
            email_domain=customer.email_domain,
            contracted_users=customer.contracted_users,
        )
    )
    return customer_provisioning_succeeded(customer_id=customer_id)


@retried_atomic
def customer_provisioning_succeeded(*, customer_id: int) -> CustomerAccount | None:
    """The tenant exists: the account becomes active and the registering MSP staff member is
    told by e-mail (after commit). Does nothing if the account is no longer provisioning."""
    if not CustomerAccount.objects.filter(pk=customer_id).exists():
        return None
    customer = _locked(customer_id, wallet=True)
    if customer.status != S.PROVISIONING:
        return None
    customer.activated_at = timezone.now()
    customer.provisioning_attempts += 1
    customer.provisioning_error = ""
    customer_transition(
        customer=customer,
        to_status=S.ACTIVE,
        actor=None,
        update_fields=["activated_at", "provisioning_attempts", "provisioning_error"],
    )
    audit_record(
        actor=None,
        action="customer.provisioning_succeeded",
        obj=customer,
        organization=customer.organization,
        before={"status": S.PROVISIONING},
        after={"status": S.ACTIVE},
    )
    hooks.customer_events("customer.provisioned", [(customer, {})])
    _notify_registrant(customer, "provisioned")
    return customer


@retried_atomic
def customer_provisioning_failed(*, customer_id: int, error: str, final: bool) -> CustomerAccount | None:
    """Record a failed provisioning attempt. While retries remain the account stays in
    provisioning; the last failure (`final`) moves it to provisioning_failed, where the
    operator sees the error and a retry button."""
    if not CustomerAccount.objects.filter(pk=customer_id).exists():
        return None
    customer = _locked(customer_id, wallet=True)
    if customer.status != S.PROVISIONING:
        return None
    customer.provisioning_attempts += 1
    customer.provisioning_error = error[:2000]
    if not final:
        customer.save(update_fields=["provisioning_attempts", "provisioning_error", "updated_at"])
        return customer
    customer_transition(
        customer=customer,
        to_status=S.PROVISIONING_FAILED,
        actor=None,
        reason=customer.provisioning_error,
        update_fields=["provisioning_attempts", "provisioning_error"],
    )
    audit_record(
        actor=None,
        action="customer.provisioning_failed",
        obj=customer,
        organization=customer.organization,
        before={"status": S.PROVISIONING},
        after={"status": S.PROVISIONING_FAILED, "error": customer.provisioning_error},
    )
    hooks.customer_events("customer.provisioning_failed", [(customer, {"error": customer.provisioning_error})])
    return customer


@retried_atomic
def customer_change_contract(*, actor: User, customer: CustomerAccount, contracted_users: int) -> CustomerAccount:
    """Change the contracted users (契約ユーザ数更新), effective now, kept as a ContractChange
    row so the count in force at any past moment can be read by the monthly job."""
    new = _check_contracted_users(contracted_users)
    customer = _locked(customer, wallet=True)
    _ensure_changeable(customer)
    old = customer.contracted_users
    if new == old:
        raise DomainError(_("The number of contracted users is already %(users)s.") % {"users": f"{old:,}"})
    hooks.contract_checks(customer, new)
    customer.contracted_users = new
    customer.save(update_fields=["contracted_users", "updated_at"])
    _write_contract_change(customer, old, new, actor)
    audit_record(
        actor=actor,
        action="customer.contract_change",
        obj=customer,
        before={"contracted_users": old},
        after={"contracted_users": new},
    )
    hooks.customer_events("customer.contract_changed", [(customer, {"contracted_users": {"old": old, "new": new}})])
    return customer


@retried_atomic
def customer_info_update(*, actor: User, customer: CustomerAccount, data: dict[str, Any]) -> CustomerAccount:
    """The customer's own change of its information (顧客情報, from the customer portal; never
    the account code, contract or reseller info), through the checks of `customer_update`.
    Only an active account's portal writes. Only the changed fields are saved and audited, for
    the staff member's organization or, for a customer admin, the customer's MSP."""
    customer = _locked(customer)
    if customer.status != S.ACTIVE:
        raise DomainError(_("This customer account is not active; its portal is read-only."))
    diff = _apply_changes(customer, data, CUSTOMER_EDITABLE_FIELDS)
    if diff:
        _save_changes(customer, diff)
        audit_record(
            actor=actor,
            action="customer.info_update",
            obj=customer,
            organization=getattr(actor, "organization", None) or customer.organization,
            before={name: pair[0] for name, pair in diff.items()},
            after={name: pair[1] for name, pair in diff.items()},
        )
    return customer


@retried_atomic
def customer_archive(*, actor: User, customer: CustomerAccount) -> CustomerAccount:
    """Hide a finished account (cancelled, withdrawn, returned, merged) from the default list.
    Nothing is deleted; it can be unarchived."""
    customer = _locked(customer)
    if customer.status not in TERMINAL_STATUSES:
        raise DomainError(_("Only cancelled, withdrawn, returned or merged accounts can be archived."))
    if customer.archived_at is not None:
        raise DomainError(_("This account is already archived."))
    customer.archived_at = timezone.now()
    customer.save(update_fields=["archived_at", "updated_at"])
    audit_record(
        actor=actor,
        action="customer.archive",
        obj=customer,
        before={"archived_at": None},
        after={"archived_at": customer.archived_at},
    )
    return customer


@retried_atomic
def customer_unarchive(*, actor: User, customer: CustomerAccount) -> CustomerAccount:
    """Show an archived account in the default list again."""
    customer = _locked(customer)
    if customer.archived_at is None:
        raise DomainError(_("This account is not archived."))
    before = customer.archived_at
    customer.archived_at = None
    customer.save(update_fields=["archived_at", "updated_at"])
    audit_record(
        actor=actor,
        action="customer.unarchive",
        obj=customer,
        before={"archived_at": before},
        after={"archived_at": None},
    )
    return customer


@retried_atomic
def customer_assign_support(
    *, actor: User, customer: CustomerAccount, support_account: Organization | None
) -> CustomerAccount:
    """Assign one of the MSP's own support accounts to the customer (サポート), or none. A
    support account of another MSP is refused whatever the form offered."""
    customer = _locked(customer)
    _ensure_changeable(customer)
    if support_account is not None and not (
        support_account.kind == OrganizationKind.SUPPORT
        and support_account.parent_id == customer.organization_id
        and support_account.is_active
    ):
        raise DomainError(_("Choose one of this MSP's own support accounts."))
    before = customer.support_account_id
    after = support_account.pk if support_account is not None else None
    if before == after:
        return customer
    customer.support_account = support_account
    customer.save(update_fields=["support_account", "updated_at"])
    audit_record(
        actor=actor,
        action="customer.assign_support",
        obj=customer,
        before={"support_account": before},
        after={"support_account": after},
    )
    return customer


@retried_atomic
def customer_customize_screen(*, actor: User, customer: CustomerAccount, hidden_menus: list[str]) -> CustomerAccount:
    """Set which customer admin portal menus the customer does not see (画面のカスタマイズ).
    Keys must come from CUSTOMER_PORTAL_MENUS; they are stored in menu order."""
    unknown = set(hidden_menus) - set(MENU_KEYS)
    if unknown:
        raise DomainError(_("Unknown menu: %(menus)s") % {"menus": ", ".join(sorted(unknown))})
    customer = _locked(customer)
    _ensure_changeable(customer)
    hidden = [key for key in MENU_KEYS if key in set(hidden_menus)]
    before = list(customer.hidden_menus or [])
    if before == hidden:
        return customer
    customer.hidden_menus = hidden
    customer.save(update_fields=["hidden_menus", "updated_at"])
    audit_record(
        actor=actor,
        action="customer.customize_screen",
        obj=customer,
        before={"hidden_menus": before},
        after={"hidden_menus": hidden},
    )
    return customer


# --- Suspension (利用停止) ------------------------------------------------------------------


def _lock_where(customer_ids: Iterable[int], **condition) -> list[CustomerAccount]:
    """The given accounts that meet `condition` as locked (step 1 of the ledger's lock order),
    in id order, with their organization."""
    return list(
        CustomerAccount.objects.select_for_update(of=("self",))
        .select_related("organization")
        .filter(pk__in=sorted(set(customer_ids)), **condition)
        .order_by("pk")
    )


@transaction.atomic
def customers_suspend(*, negative_since: Mapping[int, dt.datetime], at: dt.datetime) -> int:
    """Flag 利用停止 from `at` on the accounts of `negative_since` (id → when its balance went
    below zero) not flagged yet whose wallet is still below zero, judged under their row locks:
    one UPDATE for them all, and one audit event each. The daily run's suspension step
    (billing_jobs.services.update_suspensions) passes them a batch at a time. Returns how many
    were flagged."""
    flagged = _lock_where(negative_since, suspended_at__isnull=True, wallet__balance__lt=0)
    if not flagged:
        return 0
    CustomerAccount.objects.filter(pk__in=[customer.pk for customer in flagged]).update(suspended_at=at)
    for customer in flagged:
        audit_record(
            actor=None,
            action="customer.suspend",
            obj=customer,
            organization=customer.organization,
            before={"suspended_at": None},
            after={"suspended_at": at, "negative_since": negative_since[customer.pk]},
        )
    return len(flagged)


@transaction.atomic
def customers_unsuspend(*, customer_ids: Iterable[int]) -> int:
    """Lift 利用停止 from the given flagged accounts whose wallet is back at or above zero,
    judged under their row locks: one UPDATE for them all, and one audit event each. Returns
    how many were lifted."""
    lifted = _lock_where(customer_ids, suspended_at__isnull=False, wallet__balance__gte=0)
    if not lifted:
        return 0
    CustomerAccount.objects.filter(pk__in=[customer.pk for customer in lifted]).update(suspended_at=None)
    for customer in lifted:
        audit_record(
            actor=None,
            action="customer.unsuspend",
            obj=customer,
            organization=customer.organization,
            before={"suspended_at": customer.suspended_at},
            after={"suspended_at": None},
        )
    return len(lifted)


# --- 納品通知 -----------------------------------------------------------------------------------


@dataclass
class DeliveryNoticeResult:
    sent: list[tuple[CustomerAccount, list[str]]] = field(default_factory=list)
    skipped: list[tuple[CustomerAccount, str]] = field(default_factory=list)


def _delivery_notice_problem(customer: CustomerAccount, admins: list) -> str | None:
    if customer.status != S.ACTIVE:
        return _("The account is not active.")
    if not (customer.contact_name and customer.contact_email):
        return _("The basic information has no contact name or contact e-mail.")
    if not (customer.reseller_contact_name and customer.reseller_contact_email):
        return _("The reseller information has no contact name or contact e-mail.")
    if not admins:
        return _("No administrator is registered yet.")
    return None


def customer_delivery_notice_send(*, actor: User, customers, language: str = "ja") -> DeliveryNoticeResult:
    """Send the delivery notice (納品通知) for each given customer account: one e-mail to the
    customer's contact, copied (Cc) to the reseller's contact as its body says, with the account
    code, the sign-in URL and the administrators' names and sign-in IDs (never passwords;
    `hooks.active_admins`); an address that is both contacts gets it once. Accounts that are not
    active, lack a contact name or e-mail in the basic or reseller info, or have no
    administrator are skipped with the reason. Each sent notice is recorded on the account and
    audited. The caller passes customers already scoped to what the actor may see."""
    customers = list(customers)
    admins_by_customer = hooks.active_admins([customer.pk for customer in customers])
    login_url = settings.PORTAL_BASE_URL.rstrip("/") + reverse("login")
    result = DeliveryNoticeResult()
    connection = get_connection()
    for customer in customers:
        admins = admins_by_customer.get(customer.pk, [])
        problem = _delivery_notice_problem(customer, admins)
        if problem:
            result.skipped.append((customer, problem))
            continue
        to = [customer.contact_email.lower()]
        cc = [email for email in [customer.reseller_contact_email.lower()] if email not in to]
        recipients = to + cc
        with translation.override(language):
            context = {"customer": customer, "admins": admins, "login_url": login_url}
            subject = render_subject("customers/email/delivery_notice_subject.txt", context)
            body = render_to_string("customers/email/delivery_notice_body.txt", context)
        message = EmailMessage(subject=subject, body=body, to=to, cc=cc, connection=connection)
        try:
            message.send()
        except OSError:
            result.skipped.append((customer, _("The e-mail could not be sent. Try again later.")))
            continue
        customer_record_delivery_notice(actor=actor, customer=customer, recipients=recipients, language=language)
        result.sent.append((customer, recipients))
    return result


@transaction.atomic
def customer_record_delivery_notice(
    *, actor: User, customer: CustomerAccount, recipients: list[str], language: str
) -> None:
    """Record on the account that its delivery notice went to `recipients`, and audit it."""
    before = customer.last_delivery_notice_at
    now = timezone.now()
    CustomerAccount.objects.filter(pk=customer.pk).update(last_delivery_notice_at=now)
    customer.last_delivery_notice_at = now
    audit_record(
        actor=actor,
        action="customer.delivery_notice",
        obj=customer,
        before={"last_delivery_notice_at": before},
        after={"last_delivery_notice_at": now, "recipients": recipients, "language": language},
    )


# --- Notifications -------------------------------------------------------------------------


def _notify_registrant(customer: CustomerAccount, kind: str, **extra) -> None:
    """E-mail the staff member who registered the account, in their language, after commit."""
    user = customer.registered_by
    if user is None or not user.is_active or not user.email:
        return
    customer_id = customer.pk
    transaction.on_commit(lambda: send_registrant_email(customer_id=customer_id, kind=kind, **extra))


def send_registrant_email(*, customer_id: int, kind: str, **extra) -> None:
    customer = CustomerAccount.objects.select_related("registered_by", "organization").get(pk=customer_id)
    user = customer.registered_by
    url = settings.PORTAL_BASE_URL.rstrip("/") + reverse("customers:detail", args=[customer.pk])
    context = {"customer": customer, "user": user, "url": url, **extra}
    with translation.override(user.language):
        subject = render_subject(f"customers/email/{kind}_subject.txt", context)
        body = render_to_string(f"customers/email/{kind}_body.txt", context)
        html = render_to_string(f"customers/email/{kind}_body.html", context)
    message = EmailMultiAlternatives(subject=subject, body=body, to=[user.email])
    message.attach_alternative(html, "text/html")
    message.send()
