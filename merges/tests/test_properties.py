"""A hypothesis state machine mixing merges (within one MSP and across two), transfers between
MSPs, point moves, cancellations and days passing with the daily run (every 25th crossed).
After every step every ledger invariant holds (verify_ledger's checks: balances equal their
transfers and sum to zero, one charge per wallet and month, merged and cancelled wallets at 0,
no charge after a merge or a settlement, no eligible account left uncharged, each wallet's MSP
its customer's), the points of all wallets only change by what was moved in or charged, and
no account is named in two pending requests."""

import datetime as dt
import itertools

import time_machine
from django.db import transaction
from django.db.models import F, Q
from hypothesis import HealthCheck, assume, event, settings
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
from billing_jobs.tests.factories import active_customer, at
from customers.cancellation import customer_cancel
from customers.models import CustomerAccount, CustomerStatus
from merges import services as merge_services
from merges.models import AccountRequest, MergeSearch, RequestStatus
from msp_portal import dates
from msp_portal.errors import DomainError
from points import services
from points.models import LedgerAccount, LedgerAccountKind
from points.selectors import ledger_problems

START = dt.date(2026, 11, 20)
S = CustomerStatus


class MergeMachine(RuleBasedStateMachine):
    customers = Bundle("customers")
    requests = Bundle("requests")

    def __init__(self):
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.traveller = time_machine.travel(at(START, 12), tick=False)
        self.clock = self.traveller.start()
        self.today = START
        self.keys = itertools.count()
        self.msps = [OrganizationFactory(), OrganizationFactory()]
        # Two admins per MSP: one asks, the other decides (four-eyes within one MSP).
        self.admins = [
            [UserFactory(membership__organization=msp, membership__role="admin") for _ in range(2)] for msp in self.msps
        ]
        for msp in self.msps:
            services.points_purchase(
                actor=None, organization=msp, amount=5000, order_reference="PO-1", idempotency_key=self.key()
            )

    def teardown(self):
        self.traveller.stop()
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def key(self) -> str:
        return f"form:k:{next(self.keys)}"

    def customer(self, pk) -> CustomerAccount:
        return CustomerAccount.objects.select_related("organization").get(pk=pk)

    def side(self, customer) -> int:
        return self.msps.index(customer.organization)

    def _open(self, side: int, users: int, points: int) -> int:
        return active_customer(
            # Activated within the hour (a run of today's 25th has already passed it by).
            self.msps[side],
            activated=at(self.today, 11),
            users=users,
            points=points,
        ).pk

    @initialize(
        target=customers, accounts=st.lists(st.tuples(st.integers(0, 1), st.integers(1, 30)), min_size=2, max_size=4)
    )
    def open_accounts(self, accounts):
        return multiple(*[self._open(side, users, 60) for side, users in accounts])

    @rule(target=customers, side=st.integers(0, 1), users=st.integers(1, 30), points=st.integers(0, 80))
    def open_account(self, side, users, points):
        return self._open(side, users, points)

    @rule(pk=customers, amount=st.integers(1, 100), add=st.booleans())
    def move_points(self, pk, amount, add):
        customer = self.customer(pk)
        try:
            if add:
                services.points_allocate(actor=None, customer=customer, amount=amount, idempotency_key=self.key())
            else:
                services.points_withdraw(
                    actor=None, customer=customer, amount=amount, idempotency_key=self.key(), allow_negative=True
                )
        except DomainError:
            assert customer.status != S.ACTIVE or add

    @rule(target=requests, first=customers, second=customers, survivor_is_other=st.booleans())
    def request_merge(self, first, second, survivor_is_other):
        assume(first != second)
        customer, other = self.customer(first), self.customer(second)
        asker = self.admins[self.side(customer)][0]
        if other.organization != customer.organization:
            MergeSearch.objects.create(user=asker, query=other.account_code).found.add(other)
        try:
            request = merge_services.merge_request_create(
                actor=asker,
                customer=customer,
                other=other,
                survivor_is_other=survivor_is_other,
                note="",
                idempotency_key=self.key(),
            )
        except DomainError:
            return multiple()
        return request.pk

    @rule(target=requests, pk=customers)
    def request_transfer(self, pk):
        customer = self.customer(pk)
        side = self.side(customer)
        try:
            request = merge_services.transfer_request_create(
                actor=self.admins[side][0],
                customer=customer,
                to_organization=self.msps[1 - side],
                note="",
                idempotency_key=self.key(),
            )
        except DomainError:
            return multiple()
        return request.pk

    @rule(pk=requests, approve=st.sampled_from([True, True, False]), keep_admins=st.booleans())
    def decide(self, pk, approve, keep_admins):
        request = AccountRequest.objects.select_related("customer", "deciding_organization").get(pk=pk)
        decider = self.admins[self.msps.index(request.deciding_organization)][1]
        try:
            if approve:
                merge_services.request_approve(
                    actor=decider,
                    account_request=request,
                    confirmation=request.customer.account_code,
                    keep_admins=keep_admins,
                )
            else:
                merge_services.request_reject(actor=decider, account_request=request, reason="別会社")
        except DomainError:
            request.refresh_from_db()
            assert not request.is_pending or request.is_overdue or approve
            return
        request.refresh_from_db()
        assert request.status == (RequestStatus.APPROVED if approve else RequestStatus.REJECTED)
        event(f"{request.kind} {'approved' if approve else 'rejected'}")
        if approve and request.is_merge:
            assert self.customer(request.customer_id).status == S.MERGED

    @rule(pk=customers)
    def cancel(self, pk):
        customer = self.customer(pk)
        try:
            customer_cancel(actor=self.admins[self.side(customer)][0], customer=customer, agreed=True)
        except DomainError:
            assert customer.status != S.ACTIVE or merge_services.pending_requests_for([pk]).exists()

    @rule(days=st.integers(1, 40))
    def pass_days(self, days):
        target = self.today + dt.timedelta(days=days)
        day = self.today
        while day < target:
            day += dt.timedelta(days=1)
            if day.day == dates.CHARGE_DAY or day == target:
                self.clock.move_to(at(day, 1))
                run_billing(day)
        self.clock.move_to(at(target, 12))
        self.today = target

    @invariant()
    def the_ledger_is_sound(self):
        assert ledger_problems() == []

    @invariant()
    def merged_and_cancelled_accounts_hold_nothing(self):
        assert not LedgerAccount.objects.filter(
            kind=LedgerAccountKind.WALLET, customer__status__in=(S.MERGED, S.CANCELLED)
        ).exclude(balance=0)

    @invariant()
    def no_account_is_in_two_pending_requests(self):
        pending = AccountRequest.objects.filter(status=RequestStatus.PENDING)
        named = list(pending.values_list("customer_id", flat=True)) + [
            pk for pk in pending.values_list("survivor_id", flat=True) if pk is not None
        ]
        assert len(named) == len(set(named))

    @invariant()
    def wallets_belong_to_their_customers_msp(self):
        wallets = LedgerAccount.objects.filter(kind=LedgerAccountKind.WALLET)
        assert not wallets.filter(~Q(msp_id=F("customer__organization_id"))).exists()


class MergeStateMachineTest(TestCase):
    def test_any_mix_of_merges_transfers_point_moves_and_runs_keeps_every_invariant(self):
        run_state_machine_as_test(
            MergeMachine,
            settings=settings(
                max_examples=15, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
            ),
        )
