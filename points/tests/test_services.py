import datetime as dt

import pytest
from django.utils import translation

from audit.models import AuditEvent
from customers.lifecycle import POINTS_STATUSES
from customers.models import CustomerAccount, CustomerStatus
from customers.tests.factories import CustomerAccountFactory
from msp_portal.errors import DomainError
from points import ledger, services
from points.models import LedgerAccount, LedgerAccountKind, Transfer, TransferKind
from points.selectors import ledger_problems, pool_balance

from .helpers import fund, give, key, take

pytestmark = pytest.mark.django_db


def balances(customer):
    customer = CustomerAccount.objects.with_points().get(pk=customer.pk)
    return customer.points_balance, pool_balance(customer.organization_id)


def test_a_purchase_fills_the_msp_pool_from_issuance_and_is_audited(msp_org, operator_user):
    transfer = services.points_purchase(
        actor=operator_user, organization=msp_org, amount=5000, order_reference=" PO-77 ", idempotency_key="k1"
    )
    assert transfer.kind == TransferKind.PURCHASE
    assert transfer.order_reference == "PO-77"
    assert pool_balance(msp_org) == 5000
    assert ledger.system_account(LedgerAccountKind.ISSUANCE).balance == -5000
    event = AuditEvent.objects.get(action="points.purchase")
    assert event.actor == operator_user and event.organization == msp_org
    assert event.after["amount"] == 5000


def test_a_purchase_needs_an_order_reference_and_an_msp(msp_org, support_org, operator_org):
    with pytest.raises(DomainError):
        services.points_purchase(actor=None, organization=msp_org, amount=5, order_reference=" ", idempotency_key="a")
    for organization in (support_org, operator_org):
        with pytest.raises(DomainError):
            services.points_purchase(
                actor=None, organization=organization, amount=5, order_reference="PO", idempotency_key="b"
            )
    assert not Transfer.objects.exists()


def test_allocation_moves_points_from_the_pool_to_the_wallet(msp_org, msp_admin):
    customer = CustomerAccountFactory(organization=msp_org)
    fund(msp_org, 1000)
    transfer = services.points_allocate(actor=msp_admin, customer=customer, amount=300, idempotency_key="a1")
    assert balances(customer) == (300, 700)
    assert (transfer.credit_balance_after, transfer.credit_seq) == (300, 1)
    event = AuditEvent.objects.get(action="points.allocate")
    assert event.customer_id == customer.pk and event.actor == msp_admin


def test_it_refuses_allocation_beyond_the_pool_and_says_how_many_points_are_missing(msp_org):
    customer = CustomerAccountFactory(organization=msp_org)
    fund(msp_org, 100)
    with pytest.raises(services.PoolShortage) as refused, translation.override("en"):
        services.points_allocate(actor=None, customer=customer, amount=250, idempotency_key="a1")
    assert refused.value.missing == 150
    assert "150" in str(refused.value) and "distributor" in str(refused.value)
    assert balances(customer) == (0, 100)
    assert not Transfer.objects.filter(kind=TransferKind.ALLOCATE).exists()


def test_withdrawal_may_take_a_wallet_negative_only_when_confirmed(msp_org):
    customer = CustomerAccountFactory(organization=msp_org)
    fund(msp_org, 100)
    give(customer, 30)
    with pytest.raises(services.NegativeBalanceNotConfirmed) as warned:
        services.points_withdraw(actor=None, customer=customer, amount=50, idempotency_key="w1")
    assert warned.value.result == -20
    assert balances(customer) == (30, 70)
    services.points_withdraw(actor=None, customer=customer, amount=50, idempotency_key="w1", allow_negative=True)
    assert balances(customer) == (-20, 120)


def test_the_same_key_and_request_moves_points_once(msp_org):
    customer = CustomerAccountFactory(organization=msp_org)
    fund(msp_org, 100)
    first = services.points_allocate(actor=None, customer=customer, amount=40, idempotency_key="same")
    second = services.points_allocate(actor=None, customer=customer, amount=40, idempotency_key="same")
    assert first.pk == second.pk
    assert balances(customer) == (40, 60)


def test_the_same_key_with_another_amount_is_refused(msp_org):
    customer = CustomerAccountFactory(organization=msp_org)
    fund(msp_org, 100)
    services.points_allocate(actor=None, customer=customer, amount=40, idempotency_key="same")
    with pytest.raises(DomainError):
        services.points_allocate(actor=None, customer=customer, amount=41, idempotency_key="same")
    assert balances(customer) == (40, 60)


@pytest.mark.parametrize("amount", [0, -5, 1.5, "10", True, None, services.MAX_POINTS + 1])
def test_bad_amounts_are_refused_and_change_nothing(msp_org, amount):
    customer = CustomerAccountFactory(organization=msp_org)
    fund(msp_org, 100)
    with pytest.raises(DomainError):
        services.points_allocate(actor=None, customer=customer, amount=amount, idempotency_key="bad")
    with pytest.raises(DomainError):
        services.points_withdraw(actor=None, customer=customer, amount=amount, idempotency_key="bad2")
    assert balances(customer) == (0, 100)


def test_points_of_a_cancelled_account_cannot_be_changed(msp_org):
    customer = CustomerAccountFactory(organization=msp_org, status="cancelled")
    fund(msp_org, 100)
    with pytest.raises(DomainError):
        services.points_allocate(actor=None, customer=customer, amount=5, idempotency_key="c")
    assert balances(customer) == (0, 100)


@pytest.mark.parametrize("status", [status for status, _label in CustomerStatus.choices])
def test_points_move_only_on_accounts_that_can_be_charged_or_settled(msp_org, operator_user, status):
    customer = CustomerAccountFactory(organization=msp_org, status=status)
    wallet = ledger.wallet_for(customer)
    fund(msp_org, 100)
    moves = [
        lambda: services.points_allocate(actor=None, customer=customer, amount=5, idempotency_key=key()),
        lambda: services.points_withdraw(
            actor=None, customer=customer, amount=5, idempotency_key=key(), allow_negative=True
        ),
        lambda: services.points_adjust(
            actor=operator_user, account=wallet, amount=5, reason="correction", idempotency_key=key()
        ),
    ]
    for move in moves:
        if status in POINTS_STATUSES:
            move()
        else:
            with pytest.raises(DomainError, match="のポイントは変更できません"):
                move()
    assert balances(customer) == ((5, 100) if status in POINTS_STATUSES else (0, 100))


def test_the_status_that_decides_is_the_one_read_under_the_lock_not_the_callers_copy(msp_org, operator_user):
    customer = CustomerAccountFactory(organization=msp_org, status="active")
    fund(msp_org, 100)
    moved = give(customer, 20)
    # Cancelled (and settled) by someone else after this copy was read.
    CustomerAccount.objects.filter(pk=customer.pk).update(status="cancelled")
    assert customer.status == "active"
    with pytest.raises(DomainError, match="解約済み"):
        services.points_allocate(actor=None, customer=customer, amount=5, idempotency_key=key())
    with pytest.raises(DomainError, match="解約済み"):
        services.points_withdraw(actor=None, customer=customer, amount=5, idempotency_key=key(), allow_negative=True)
    with pytest.raises(DomainError, match="解約済み"):
        services.transfer_reverse(actor=operator_user, transfer=moved, reason="mistake")
    LedgerAccount.objects.filter(customer=customer).update(estimated_balance=-30)
    result = services.points_replenish(actor=None, customers=[customer], batch_key="b")
    assert (result.total, result.transfers) == (0, [])
    assert balances(customer) == (20, 80)


def _short_customer(organization, users=30, balance=0):
    customer = CustomerAccountFactory(organization=organization, contracted_users=users)
    if balance:
        give(customer, balance)
    wallet = LedgerAccount.objects.get(customer=customer)
    LedgerAccount.objects.filter(pk=wallet.pk).update(estimated_balance=wallet.balance - users)
    return CustomerAccount.objects.with_points().get(pk=customer.pk)


def test_replenish_tops_each_short_account_up_to_an_estimate_of_zero(msp_org, msp_billing):
    fund(msp_org, 1000)
    short = _short_customer(msp_org, users=30, balance=10)  # estimate −20
    negative = _short_customer(msp_org, users=20)
    take(negative, 15)  # balance −15, estimate −35
    enough = _short_customer(msp_org, users=10, balance=50)  # estimate 40
    result = services.points_replenish(actor=msp_billing, customers=[short, negative, enough], batch_key="b1")
    assert result.total == 55
    short, negative, enough = (CustomerAccount.objects.with_points().get(pk=c.pk) for c in (short, negative, enough))
    assert (short.estimated_balance, negative.estimated_balance, enough.estimated_balance) == (0, 0, 40)
    assert pool_balance(msp_org) == 1000 - 10 - 50 + 15 - 55
    assert Transfer.objects.filter(idempotency_key=f"replenish:b1:{short.pk}", amount=20).exists()
    assert AuditEvent.objects.filter(action="points.replenish").count() == 2


def test_replenish_is_all_or_nothing_when_the_pool_is_short(msp_org):
    fund(msp_org, 100)
    first = _short_customer(msp_org, users=60)
    second = _short_customer(msp_org, users=60)
    before = Transfer.objects.count()
    with pytest.raises(services.PoolShortage) as refused:
        services.points_replenish(actor=None, customers=[first, second], batch_key="b1")
    assert refused.value.missing == 20
    assert Transfer.objects.count() == before
    assert pool_balance(msp_org) == 100


def test_a_repeated_replenish_batch_moves_points_once(msp_org):
    fund(msp_org, 100)
    customer = _short_customer(msp_org, users=30)
    services.points_replenish(actor=None, customers=[customer], batch_key="b1")
    again = services.points_replenish(actor=None, customers=[customer], batch_key="b1")
    assert again.replayed and again.total == 30
    assert pool_balance(msp_org) == 70


def test_replenish_computes_from_the_estimate_at_the_time_not_from_the_preview(msp_org):
    fund(msp_org, 100)
    customer = _short_customer(msp_org, users=30)
    preview = services.replenish_plan([customer])
    give(customer, 25)  # someone added points after the preview was shown
    services.points_replenish(actor=None, customers=[customer], batch_key="b1")
    customer = CustomerAccount.objects.with_points().get(pk=customer.pk)
    assert preview[0].points == 30
    assert customer.estimated_balance == 0 and customer.points_balance == 30


def test_auto_replenish_pays_each_account_its_pool_can_still_pay_in_order_and_skips_the_others(msp_org):
    fund(msp_org, 70)
    first = _short_customer(msp_org, users=30)
    second = _short_customer(msp_org, users=50)  # the 40 left cannot pay it
    third = _short_customer(msp_org, users=40)
    day = dt.date(2026, 11, 20)
    result = services.points_auto_replenish(customer_ids=[third.pk, second.pk, first.pk], run_date=day)
    assert (len(result.transfers), result.total, result.skipped) == (2, 70, [second.pk])
    assert [CustomerAccount.objects.with_points().get(pk=c.pk).estimated_balance for c in (first, second, third)] == [
        0,
        -50,
        0,
    ]
    transfer = Transfer.objects.get(idempotency_key=services.auto_replenish_key(day, first.pk))
    assert (transfer.kind, transfer.amount, transfer.memo, transfer.actor) == (
        TransferKind.ALLOCATE,
        30,
        "auto-replenish",
        None,
    )
    event = AuditEvent.objects.get(action="points.auto_replenish", customer=first)
    assert (event.before, event.after) == ({"estimated_balance": -30}, {"estimated_balance": 0, "points": 30})
    assert pool_balance(msp_org) == 0
    assert ledger_problems() == []


def test_auto_replenish_moves_points_once_a_day_and_only_for_active_accounts(msp_org):
    fund(msp_org, 1000)
    active = _short_customer(msp_org, users=30)
    provisioning = CustomerAccountFactory(organization=msp_org, status=CustomerStatus.PROVISIONING)
    LedgerAccount.objects.filter(customer=provisioning).update(estimated_balance=-20)
    day = dt.date(2026, 11, 20)
    services.points_auto_replenish(customer_ids=[active.pk, provisioning.pk], run_date=day)
    # Short again the same day (the contract grew): the day's key has been used.
    LedgerAccount.objects.filter(customer=active).update(estimated_balance=-5)
    again = services.points_auto_replenish(customer_ids=[active.pk, provisioning.pk], run_date=day)
    assert (again.transfers, again.total) == ([], 0)
    assert Transfer.objects.filter(kind=TransferKind.ALLOCATE, customer=active).count() == 1
    assert not Transfer.objects.filter(customer=provisioning).exists()
    nextday = services.points_auto_replenish(customer_ids=[active.pk], run_date=day + dt.timedelta(days=4))
    assert nextday.total == 5


def test_an_adjustment_needs_a_reason_and_moves_against_issuance(msp_org, operator_user):
    customer = CustomerAccountFactory(organization=msp_org)
    wallet = ledger.wallet_for(customer)
    with pytest.raises(DomainError):
        services.points_adjust(actor=operator_user, account=wallet, amount=5, reason="  ", idempotency_key="x")
    services.points_adjust(actor=operator_user, account=wallet, amount=-7, reason="typo", idempotency_key="x")
    assert balances(customer)[0] == -7
    assert ledger.system_account(LedgerAccountKind.ISSUANCE).balance == 7
    assert AuditEvent.objects.get(action="points.adjust").after["reason"] == "typo"


def test_an_adjustment_may_not_put_a_pool_in_debt(msp_org, operator_user):
    fund(msp_org, 10)
    pool = ledger.pool_for(msp_org)
    with pytest.raises(services.PoolShortage):
        services.points_adjust(actor=operator_user, account=pool, amount=-11, reason="r", idempotency_key="x")
    assert pool_balance(msp_org) == 10


def test_a_reversal_mirrors_the_transfer_once(msp_org, operator_user):
    customer = CustomerAccountFactory(organization=msp_org)
    fund(msp_org, 100)
    allocation = give(customer, 40)
    reversal = services.transfer_reverse(actor=operator_user, transfer=allocation, reason="wrong customer")
    assert (reversal.debit_account_id, reversal.credit_account_id) == (
        allocation.credit_account_id,
        allocation.debit_account_id,
    )
    assert balances(customer) == (0, 100)
    assert services.transfer_reverse(actor=operator_user, transfer=allocation, reason="again").pk == reversal.pk
    with pytest.raises(DomainError):
        services.transfer_reverse(actor=operator_user, transfer=reversal, reason="undo")
    assert balances(customer) == (0, 100)
    assert ledger_problems() == []


def test_every_service_leaves_a_sound_ledger(msp_org, other_msp_org):
    customers = [CustomerAccountFactory(organization=org) for org in (msp_org, msp_org, other_msp_org)]
    fund(msp_org, 500)
    fund(other_msp_org, 50)
    for customer in customers:
        give(customer, 20)
        take(customer, 35)
    services.points_adjust(actor=None, account=ledger.pool_for(msp_org), amount=9, reason="r", idempotency_key=key())
    assert ledger_problems() == []
    assert LedgerAccount.objects.filter(kind=LedgerAccountKind.WALLET).count() == 3
