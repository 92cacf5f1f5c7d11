"""Cancellation (解約, DESIGN.md §6): immediate, scheduled, and the daily run's due ones.

Cancelling an active account settles it, in the same transaction as the status change and
under the locks of the ledger's one order (the customer row, then its wallet and the MSP's
pool): every charge it still owes is posted, then the wallet is settled to exactly 0 from or to
the pool (`hooks.cancellation_settle`: points.settlement). Once the account is cancelled no
point moves on it again. A pending or returned application is withdrawn instead.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from audit.services import audit_record
from msp_portal import dates
from msp_portal.errors import DomainError, retried_atomic

from . import hooks
from .lifecycle import WITHDRAWABLE_STATUSES
from .models import CustomerAccount, CustomerStatus
from .services import _locked, customer_transition, customer_withdraw


def _require_agreement(agreed: bool) -> None:
    if not agreed:
        raise DomainError(_("Check “I agree” to continue."))


@retried_atomic
def _settle_and_cancel(
    customer_id: int, *, actor: User | None, cancelled_at: dt.datetime, today: dt.date, scheduled: bool
) -> CustomerAccount | None:
    """Charge what is owed, settle to 0 and mark the account cancelled. Returns None when the
    account is no longer active (cancelled meanwhile by someone else)."""
    customer = _locked(customer_id, wallet=True, pool=True)
    if customer.status != CustomerStatus.ACTIVE:
        return None
    if not scheduled:
        # A person's decision (not the date set earlier being reached): the apps above may refuse.
        hooks.cancellation_checks(customer)
    settled_before, settled_after = hooks.cancellation_settle(
        actor=actor,
        customer=customer,
        today=today,
        cancellation_date=customer.cancellation_date if scheduled else None,
    )
    before = {"status": customer.status, **settled_before, "cancellation_date": customer.cancellation_date}
    customer.cancelled_at = cancelled_at
    if not scheduled:
        customer.cancellation_date = None
    customer_transition(
        customer=customer,
        to_status=CustomerStatus.CANCELLED,
        actor=actor if actor is not None and actor.is_authenticated else None,
        reason=_("Scheduled cancellation date reached") if scheduled else _("Cancelled immediately"),
        update_fields=["cancelled_at", "cancellation_date"],
    )
    hooks.accounts_changed(CustomerAccount.objects.filter(pk=customer_id), today=today)
    audit_record(
        actor=actor,
        action="customer.cancel",
        obj=customer,
        organization=customer.organization,
        before=before,
        after={"status": CustomerStatus.CANCELLED, **settled_after, "scheduled": scheduled},
    )
    hooks.customer_events("customer.cancelled", [(customer, {"scheduled": scheduled})])
    return customer


def customer_cancel(*, actor: User, customer: CustomerAccount, agreed: bool) -> CustomerAccount:
    """Cancel an account now (解約). Active: charge what it still owes, settle its wallet to 0
    from/to the MSP pool and mark it cancelled, in one transaction. A pending or returned
    application is withdrawn instead (no points involved). Anything else raises DomainError."""
    _require_agreement(agreed)
    if customer.status in WITHDRAWABLE_STATUSES:
        return _withdraw(actor=actor, customer_id=customer.pk)
    if customer.status != CustomerStatus.ACTIVE:
        raise DomainError(
            _("This account cannot be cancelled in its current status (%(status)s).")
            % {"status": customer.get_status_display()}
        )
    cancelled = _settle_and_cancel(
        customer.pk, actor=actor, cancelled_at=timezone.now(), today=dates.today(), scheduled=False
    )
    if cancelled is None:
        raise DomainError(_("This account has already been cancelled."))
    return cancelled


@retried_atomic
def _withdraw(*, actor: User, customer_id: int) -> CustomerAccount:
    """A pending or returned application: withdrawn through the lifecycle's own service."""
    customer = customer_withdraw(actor=actor, customer=CustomerAccount(pk=customer_id))
    hooks.accounts_changed(CustomerAccount.objects.filter(pk=customer_id))
    return customer


@retried_atomic
def customer_schedule_cancellation(
    *, actor: User, customer: CustomerAccount, cancellation_date: dt.date | None, agreed: bool
) -> CustomerAccount:
    """Set, change or clear (None) the scheduled cancellation date (解約予定日) of an active
    account. A date must be in the future (Asia/Tokyo) and needs the agreement; clearing does
    not. On that date the daily run cancels the account with the same settlement."""
    if cancellation_date is not None:
        _require_agreement(agreed)
        if cancellation_date <= dates.today():
            raise DomainError(_("The cancellation date must be a future date."))
    # The wallet too: its stored estimate is rewritten below (the lock order of points.ledger).
    locked = _locked(customer, wallet=True)
    if locked.status != CustomerStatus.ACTIVE:
        raise DomainError(_("Only an active account can have a cancellation date."))
    if locked.cancellation_date is not None and locked.cancellation_date <= dates.today():
        raise DomainError(_("The cancellation date has been reached; it can no longer be changed."))
    if locked.cancellation_date == cancellation_date:
        return locked
    if cancellation_date is not None:
        hooks.cancellation_checks(locked)
    before = {"cancellation_date": locked.cancellation_date}
    locked.cancellation_date = cancellation_date
    locked.save(update_fields=["cancellation_date", "updated_at"])
    hooks.accounts_changed(CustomerAccount.objects.filter(pk=locked.pk))
    audit_record(
        actor=actor,
        action="customer.schedule_cancellation" if cancellation_date else "customer.clear_cancellation",
        obj=locked,
        organization=locked.organization,
        before=before,
        after={"cancellation_date": cancellation_date},
    )
    previous = before["cancellation_date"]
    hooks.customer_events(
        "customer.cancellation_scheduled",
        [(locked, {"previous_cancellation_date": previous.isoformat() if previous else None})],
    )
    locked.refresh_from_db()
    return locked


def cancel_due(customer_id: int, *, run_date: dt.date) -> bool:
    """The daily run's cancellation of an account whose date has come: effective at 00:00 JST
    of its cancellation date. False when there was nothing to do (already cancelled)."""
    customer = CustomerAccount.objects.filter(pk=customer_id).values("cancellation_date", "status").first()
    if customer is None or customer["status"] != CustomerStatus.ACTIVE or customer["cancellation_date"] is None:
        return False
    if customer["cancellation_date"] > run_date:
        return False
    cancelled_at = dates.start_of_day(customer["cancellation_date"])
    return (
        _settle_and_cancel(customer_id, actor=None, cancelled_at=cancelled_at, today=run_date, scheduled=True)
        is not None
    )
