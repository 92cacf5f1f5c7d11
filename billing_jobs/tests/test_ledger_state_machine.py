"""A hypothesis state machine over the lifecycle and the ledger together: registrations,
approvals and provisioning, points added and removed, contract changes, cancellation dates set
and cleared, cancellations and withdrawals, returns, and days passing (the daily run on every
25th crossed and on the day reached). After every step every ledger invariant holds
(verify_ledger's checks: balances equal their transfers, all sum to zero, one charge per wallet
and month, sequences unbroken, accounts that cannot move points at 0, no charge after a
settlement, no eligible account left uncharged), and no pool went below zero but by a
settlement's top-up."""

import datetime as dt
import itertools

import time_machine
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from accounts.tests.factories import OrganizationFactory, UserFactory
from billing_jobs.services import run_billing
from customers import services as customer_services
from customers.cancellation import customer_cancel, customer_schedule_cancellation
from customers.lifecycle import POINTS_STATUSES, WITHDRAWABLE_STATUSES
from customers.models import CustomerAccount, CustomerStatus
from msp_portal import dates
from msp_portal.errors import DomainError
from points import services
from points.models import LedgerAccount, LedgerAccountKind, Transfer, TransferKind
from points.selectors import ledger_problems, pool_balance

from .factories import at

START = dt.date(2026, 11, 20)
S = CustomerStatus


class LedgerMachine(RuleBasedStateMachine):
    customers = Bundle("customers")

    def __init__(self):
        super().__init__()
        # Each run of the machine is one savepoint of the test's transaction, rolled back at
        # its end; the clock is frozen and moved by `pass_days`.
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.traveller = time_machine.travel(at(START, 12), tick=False)
        self.clock = self.traveller.start()
        self.today = START
        self.keys = itertools.count()
        self.msp = OrganizationFactory()
        self.admin = UserFactory(membership__organization=self.msp, membership__role="admin")
        services.points_purchase(
            actor=None, organization=self.msp, amount=1000, order_reference="PO-1", idempotency_key="buy:0"
        )

    def teardown(self):
        self.traveller.stop()
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def key(self) -> str:
        return f"k:{next(self.keys)}"

    def status(self, pk: int) -> str:
        return CustomerAccount.objects.values_list("status", flat=True).get(pk=pk)

    # --- The lifecycle ------------------------------------------------------------------------

    def _register(self, users: int) -> int:
        number = next(self.keys)
        data = {"account_code": f"c-{number}", "company_name": f"株式会社{number}", "email_domain": "x.example"}
        return customer_services.customer_register(
            actor=self.admin, organization=self.msp, data=data | {"contracted_users": users}
        ).pk

    @initialize(target=customers, accounts=st.lists(st.tuples(st.integers(1, 60), st.integers(0, 200)), max_size=3))
    def active_accounts(self, accounts):
        """A few accounts already in use (active, with points), so every step has some to act on."""
        pks = []
        for users, points in accounts:
            pk = self._register(users)
            customer_services.customer_approve(actor=self.admin, customer=CustomerAccount(pk=pk))
            customer_services.customer_provisioning_succeeded(customer_id=pk)
            if points:
                services.points_allocate(
                    actor=self.admin,
                    customer=CustomerAccount.objects.get(pk=pk),
                    amount=points,
                    idempotency_key=self.key(),
                )
            pks.append(pk)
        return multiple(*pks)

    @rule(target=customers, users=st.integers(1, 60))
    def register(self, users):
        return self._register(users)

    @rule(pk=customers, provisioned=st.booleans())
    def approve(self, pk, provisioned):
        customer = CustomerAccount(pk=pk)
        status = self.status(pk)
        try:
            if status == S.PROVISIONING_FAILED:
                customer_services.customer_provisioning_retry(actor=self.admin, customer=customer)
            else:
                customer_services.customer_approve(actor=self.admin, customer=customer)
        except DomainError:
            assert status not in (S.PENDING_APPROVAL, S.PROVISIONING_FAILED)
            return
        if provisioned:
            customer_services.customer_provisioning_succeeded(customer_id=pk)
            assert self.status(pk) == S.ACTIVE
        else:
            customer_services.customer_provisioning_failed(customer_id=pk, error="timeout", final=True)

    @rule(pk=customers)
    def reject(self, pk):
        status = self.status(pk)
        try:
            customer_services.customer_reject(actor=self.admin, customer=CustomerAccount(pk=pk), reason="差戻し")
        except DomainError:
            assert status != S.PENDING_APPROVAL

    @rule(pk=customers)
    def resubmit(self, pk):
        status = self.status(pk)
        try:
            customer_services.customer_resubmit(actor=self.admin, customer=CustomerAccount(pk=pk), changes={})
        except DomainError:
            assert status != S.REJECTED

    @rule(pk=customers, users=st.integers(1, 60))
    def change_contract(self, pk, users):
        try:
            customer_services.customer_change_contract(
                actor=self.admin, customer=CustomerAccount(pk=pk), contracted_users=users
            )
        except DomainError:
            customer = CustomerAccount.objects.get(pk=pk)
            assert customer.status in (S.WITHDRAWN, S.CANCELLED, S.MERGED) or customer.contracted_users == users

    @rule(pk=customers, days=st.one_of(st.none(), st.integers(1, 70)))
    def schedule(self, pk, days):
        customer = CustomerAccount.objects.get(pk=pk)
        day = None if days is None else self.today + dt.timedelta(days=days)
        try:
            customer_schedule_cancellation(actor=self.admin, customer=customer, cancellation_date=day, agreed=True)
        except DomainError:
            assert customer.status != S.ACTIVE or (
                customer.cancellation_date is not None and customer.cancellation_date <= self.today
            )

    @rule(pk=customers)
    def cancel(self, pk):
        customer = CustomerAccount.objects.get(pk=pk)
        try:
            customer_cancel(actor=self.admin, customer=customer, agreed=True)
        except DomainError:
            assert customer.status not in (S.ACTIVE, *WITHDRAWABLE_STATUSES)
            return
        assert self.status(pk) == (S.CANCELLED if customer.status == S.ACTIVE else S.WITHDRAWN)

    # --- Points -------------------------------------------------------------------------------

    @rule(pk=customers, amount=st.integers(1, 150), add=st.booleans())
    def move_points(self, pk, amount, add):
        customer = CustomerAccount.objects.get(pk=pk)
        pool = pool_balance(self.msp)
        try:
            if add:
                services.points_allocate(actor=self.admin, customer=customer, amount=amount, idempotency_key=self.key())
            else:
                services.points_withdraw(
                    actor=self.admin, customer=customer, amount=amount, idempotency_key=self.key(), allow_negative=True
                )
        except DomainError:
            assert customer.status not in POINTS_STATUSES or (add and pool < amount)
        else:
            assert customer.status in POINTS_STATUSES

    @rule(pks=st.lists(customers, min_size=1, max_size=4, unique=True))
    def replenish(self, pks):
        selected = list(CustomerAccount.objects.with_points().filter(pk__in=pks))
        need = sum(max(0, -c.estimated_balance) for c in selected if c.status in POINTS_STATUSES)
        pool = pool_balance(self.msp)
        try:
            services.points_replenish(actor=self.admin, customers=selected, batch_key=self.key())
        except services.PoolShortage:
            assert need > pool
        else:
            assert pool_balance(self.msp) == pool - need

    # --- Time ---------------------------------------------------------------------------------

    @rule(days=st.integers(1, 40))
    def pass_days(self, days):
        """Days pass: the daily run on every 25th crossed and on the day reached (a missed day
        in between is caught up by the next run, as beat may miss runs)."""
        target = self.today + dt.timedelta(days=days)
        day = self.today
        while day < target:
            day += dt.timedelta(days=1)
            if day.day == dates.CHARGE_DAY or day == target:
                self.clock.move_to(at(day, 1))
                run_billing(day)
        self.clock.move_to(at(target, 12))
        self.today = target

    # --- Invariants ---------------------------------------------------------------------------

    @invariant()
    def the_ledger_is_sound(self):
        assert ledger_problems() == []

    @invariant()
    def only_a_settlement_takes_the_pool_below_zero(self):
        pool = LedgerAccount.objects.get(kind=LedgerAccountKind.POOL, organization=self.msp)
        below = Transfer.objects.filter(debit_account=pool, debit_balance_after__lt=0)
        assert set(below.values_list("kind", flat=True)) <= {TransferKind.SETTLEMENT_TOPUP}

    @invariant()
    def ended_accounts_hold_nothing_and_applications_were_never_charged(self):
        assert not LedgerAccount.objects.filter(
            kind=LedgerAccountKind.WALLET, customer__status__in=(S.CANCELLED, S.WITHDRAWN, S.MERGED)
        ).exclude(balance=0)
        assert not Transfer.objects.filter(kind=TransferKind.CONSUMPTION, customer__activated_at__isnull=True)


class LedgerStateMachineTest(TestCase):
    def test_any_interleaving_keeps_every_ledger_invariant(self):
        run_state_machine_as_test(
            LedgerMachine,
            settings=settings(
                max_examples=12,
                stateful_step_count=25,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
