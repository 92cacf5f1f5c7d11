"""Property-based: any sequence of point operations keeps every ledger invariant, the balances
a simple model predicts, and pools never below zero; verify_ledger agrees."""

import datetime as dt
import itertools

import time_machine
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from accounts.tests.factories import OrganizationFactory
from customers.models import CustomerAccount
from customers.tests.factories import CustomerAccountFactory
from msp_portal import dates
from msp_portal.errors import DomainError
from points import ledger, services
from points.estimates import refresh_estimates
from points.models import LedgerAccount, LedgerAccountKind, Transfer
from points.rules import consumption_for
from points.selectors import ledger_problems

MSPS = 2
CUSTOMERS = 4  # customers i belongs to MSP i % MSPS
TODAY = dt.date(2026, 11, 10)

amounts = st.integers(min_value=1, max_value=400)
customer_index = st.integers(min_value=0, max_value=CUSTOMERS - 1)
operations = st.one_of(
    st.tuples(st.just("purchase"), st.integers(0, MSPS - 1), amounts),
    st.tuples(st.just("allocate"), customer_index, amounts),
    st.tuples(st.just("withdraw"), customer_index, amounts),
    st.tuples(st.just("replenish"), st.sets(customer_index, min_size=1), st.just(0)),
    st.tuples(st.just("adjust_wallet"), customer_index, st.integers(-300, 300).filter(bool)),
    st.tuples(st.just("adjust_pool"), st.integers(0, MSPS - 1), st.integers(-300, 300).filter(bool)),
    st.tuples(st.just("replay"), st.integers(0, 1000), st.just(0)),
)


class LedgerPropertyTest(TestCase):
    # Frozen at TODAY, with accounts activated the day before: no 25th is due yet, so
    # verify_ledger's billing check (eligible accounts missing a charge) has nothing to report
    # whatever the real date is, and the test is about the point operations alone.
    @time_machine.travel(dt.datetime(2026, 11, 10, 12, tzinfo=dates.TOKYO), tick=False)
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(operations, min_size=1, max_size=25), st.lists(st.integers(1, 60), min_size=4, max_size=4))
    def test_random_operations_keep_every_invariant(self, ops, users):
        msps = [OrganizationFactory() for _ in range(MSPS)]
        customers = [
            CustomerAccountFactory(
                organization=msps[i % MSPS],
                contracted_users=users[i],
                activated_at=dates.start_of_day(TODAY - dt.timedelta(days=1)),
            )
            for i in range(CUSTOMERS)
        ]
        refresh_estimates(today=TODAY)
        charge = [consumption_for(users[i], dt.date(2026, 11, 25)) for i in range(CUSTOMERS)]
        pool = [0] * MSPS
        wallet = [0] * CUSTOMERS
        keys = itertools.count()
        posted: list[tuple[str, tuple]] = []  # (key, the call) of successful single moves

        def call(op, target, amount, key):
            if op == "purchase":
                return services.points_purchase(
                    actor=None, organization=msps[target], amount=amount, order_reference="PO", idempotency_key=key
                )
            if op == "allocate":
                return services.points_allocate(
                    actor=None, customer=customers[target], amount=amount, idempotency_key=key
                )
            if op == "withdraw":
                return services.points_withdraw(
                    actor=None, customer=customers[target], amount=amount, idempotency_key=key, allow_negative=True
                )
            account = ledger.wallet_for(customers[target]) if op == "adjust_wallet" else ledger.pool_for(msps[target])
            return services.points_adjust(actor=None, account=account, amount=amount, reason="r", idempotency_key=key)

        for op, target, amount in ops:
            if op == "replay":
                if posted:
                    key, args = posted[target % len(posted)]
                    call(*args, key)  # the same request again: nothing moves
                continue
            if op == "replenish":
                selected = sorted(target)
                need = dict.fromkeys(range(MSPS), 0)
                adds = {}
                for i in selected:
                    adds[i] = max(0, charge[i] - wallet[i])
                    need[i % MSPS] += adds[i]
                try:
                    services.points_replenish(
                        actor=None, customers=[customers[i] for i in selected], batch_key=f"b{next(keys)}"
                    )
                except services.PoolShortage:
                    assert any(need[m] > pool[m] for m in range(MSPS))
                else:
                    assert all(need[m] <= pool[m] for m in range(MSPS))
                    for i, points in adds.items():
                        wallet[i] += points
                        pool[i % MSPS] -= points
                continue
            key = f"k{next(keys)}"
            try:
                call(op, target, amount, key)
            except DomainError:
                # Only a pool that cannot pay refuses; the model agrees it could not.
                assert op in ("allocate", "adjust_pool")
                assert pool[target % MSPS if op == "allocate" else target] < abs(amount)
                continue
            posted.append((key, (op, target, amount)))
            if op == "purchase":
                pool[target] += amount
            elif op == "allocate":
                pool[target % MSPS] -= amount
                wallet[target] += amount
            elif op == "withdraw":
                pool[target % MSPS] += amount
                wallet[target] -= amount
            elif op == "adjust_wallet":
                wallet[target] += amount
            else:
                pool[target] += amount

        assert ledger_problems() == []
        assert [services_pool(m) for m in msps] == pool
        for i, customer in enumerate(customers):
            customer = CustomerAccount.objects.with_points().get(pk=customer.pk)
            assert customer.points_balance == wallet[i]
            assert customer.estimated_balance == wallet[i] - charge[i]
        # No pool ever went below zero: every balance-after recorded on a pool side.
        pools = LedgerAccount.objects.filter(kind=LedgerAccountKind.POOL)
        assert not Transfer.objects.filter(debit_account__in=pools, debit_balance_after__lt=0).exists()
        assert not Transfer.objects.filter(credit_account__in=pools, credit_balance_after__lt=0).exists()
        call_command("verify_ledger", "--quiet")  # exits non-zero on drift


def services_pool(organization) -> int:
    return (
        LedgerAccount.objects.filter(kind=LedgerAccountKind.POOL, organization=organization)
        .values_list("balance", flat=True)
        .first()
        or 0
    )
