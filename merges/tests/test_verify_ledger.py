"""verify_ledger's merge checks: a merged account's wallet is at 0 (the ended accounts' check), no
merged account is charged after its merge, and a merge moves points between its two customers'
wallets (points.selectors.check_merges). Each bad state is written as a bug would leave it."""

import datetime as dt

import pytest
import time_machine

from billing_jobs.tests.factories import at, move
from customers.models import CustomerAccount, CustomerStatusChange
from points import ledger
from points.models import LedgerAccountKind, TransferKind
from points.selectors import check_merges, ledger_problems

from .factories import active

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(at(dt.date(2026, 11, 10), 12), tick=False):
        yield


def merged(customer):
    CustomerAccount.objects.filter(pk=customer.pk).update(status="merged")
    CustomerStatusChange.objects.create(customer=customer, from_status="active", to_status="merged")


def kinds() -> list[str]:
    return [problem.check for problem in check_merges()]


def test_a_merged_account_holding_points_is_reported(msp_org):
    customer = active(msp_org, points=10)
    merged(customer)
    problems = ledger_problems()
    assert [problem.check for problem in problems] == ["settled_balance"]
    assert "is merged but its wallet holds 10 points" in problems[0].message


def test_a_charge_after_the_merge_is_reported(msp_org):
    survivor, absorbed = active(msp_org), active(msp_org, points=10)
    move(
        TransferKind.MERGE,
        ledger.wallet_for(absorbed),
        ledger.wallet_for(survivor),
        10,
        customer=absorbed,
        snapshot={"absorbed": absorbed.pk, "survivor": survivor.pk},
    )
    merged(absorbed)
    assert kinds() == [] and ledger_problems() == []
    with time_machine.travel(at(dt.date(2026, 11, 25), 3), tick=False):
        move(
            TransferKind.CONSUMPTION,
            ledger.wallet_for(absorbed),
            ledger.system_account(LedgerAccountKind.CONSUMED),
            5,
            customer=absorbed,
            period="2026-11",
        )
    assert kinds() == ["charge_after_merge"]


def test_a_merge_between_other_wallets_than_its_customers_is_reported(msp_org):
    survivor, absorbed, stranger = active(msp_org), active(msp_org, points=10), active(msp_org)
    move(
        TransferKind.MERGE,
        ledger.wallet_for(absorbed),
        ledger.wallet_for(stranger),
        10,
        customer=absorbed,
        snapshot={"absorbed": absorbed.pk, "survivor": survivor.pk},
    )
    assert kinds() == ["merge_transfer"]
