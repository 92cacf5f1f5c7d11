import datetime as dt

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from accounts.tests.factories import OrganizationFactory
from billing_jobs.tests.factories import move
from customers.models import CustomerAccount, CustomerStatusChange
from customers.tests.factories import CustomerAccountFactory
from points import ledger
from points.models import LedgerAccount, Transfer
from points.selectors import LEDGER_CHECKS, ledger_problems

from .helpers import fund, give, take

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(msp_org):
    customer = CustomerAccountFactory(organization=msp_org)
    fund(msp_org, 500)
    give(customer, 200)
    take(customer, 250)
    return customer


def run(capsys, *args):
    try:
        call_command("verify_ledger", *args)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    out = capsys.readouterr()
    return code, out.out + out.err


def raw_update(model, pk, **values):
    """Simulate drift the application never writes (a manual SQL fix, a bad migration)."""
    table = connection.ops.quote_name(model._meta.db_table)
    assignments = ", ".join(f"{connection.ops.quote_name(column)} = %s" for column in values)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {assignments} WHERE id = %s", [*values.values(), pk])  # noqa: S608


def test_a_sound_ledger_passes_every_check(books, capsys):
    assert ledger_problems() == []
    code, output = run(capsys)
    assert code == 0 and f"{len(LEDGER_CHECKS)} checks passed" in output
    assert run(capsys, "--quiet") == (0, "")


def test_a_stored_balance_that_differs_from_its_transfers_is_reported(books, capsys):
    pool = ledger.pool_for(books.organization)
    raw_update(LedgerAccount, pool.pk, balance=pool.balance + 1)
    code, output = run(capsys)
    assert code == 1
    assert "[balance]" in output and f"pool:{books.organization_id}" in output
    assert "[zero_sum]" in output and "sum to 1" in output


def test_a_customer_without_a_wallet_is_reported(books, capsys):
    lonely = CustomerAccountFactory(organization=books.organization)
    LedgerAccount.objects.filter(customer=lonely).delete()
    code, output = run(capsys)
    assert code == 1 and "[customer_wallet]" in output and lonely.account_code in output
    assert books.account_code not in output


def test_a_wallet_whose_msp_differs_from_its_customers_is_reported(books, capsys):
    other = OrganizationFactory()
    LedgerAccount.objects.filter(customer=books).update(msp=other)
    code, output = run(capsys)
    assert code == 1 and "[customer_wallet]" in output and books.account_code in output


def test_a_transfer_naming_another_customer_than_its_wallets_is_reported(books, capsys):
    stranger = CustomerAccountFactory(organization=books.organization)
    allocation = Transfer.objects.get(kind="allocate")
    raw_update(Transfer, allocation.pk, customer_id=stranger.pk)
    code, output = run(capsys)
    assert code == 1 and "[transfer_customer]" in output and f"transfer {allocation.pk}:" in output


def test_a_broken_balance_after_chain_is_reported(books, capsys):
    allocation = Transfer.objects.get(kind="allocate")
    raw_update(Transfer, allocation.pk, credit_balance_after=199)
    code, output = run(capsys)
    assert code == 1 and "[sequence]" in output


def test_a_gap_in_the_sequence_is_reported(books, capsys):
    wallet = ledger.wallet_for(books)
    raw_update(LedgerAccount, wallet.pk, last_seq=5)
    code, output = run(capsys)
    assert code == 1 and "[sequence]" in output and "last_seq 5" in output


def test_a_second_consumption_for_the_same_month_is_reported(books, capsys):
    from django.db import transaction

    consumed, wallet = ledger.system_account("consumed"), ledger.wallet_for(books)
    with transaction.atomic():
        locked = ledger.lock_accounts(consumed, wallet)
        ledger.post(
            kind="consumption",
            debit=locked[wallet.pk],
            credit=locked[consumed.pk],
            amount=5,
            idempotency_key="c1",
            customer=books,
            period="2026-11",
        )
    # A consumption booked against another wallet of the same customer is invisible to the
    # (wallet, period) index; the check is by customer.
    other_wallet = ledger.wallet_for(CustomerAccountFactory(organization=books.organization))
    with transaction.atomic():
        locked = ledger.lock_accounts(consumed, other_wallet)
        ledger.post(
            kind="consumption",
            debit=locked[other_wallet.pk],
            credit=locked[consumed.pk],
            amount=5,
            idempotency_key="c2",
            customer=books,
            period="2026-11",
        )
    code, output = run(capsys)
    assert code == 1 and "[consumption]" in output and "2026-11" in output


def test_an_msp_without_a_pool_is_reported(books, capsys):
    poolless = OrganizationFactory()
    LedgerAccount.objects.filter(kind="pool", organization=poolless).delete()
    code, output = run(capsys)
    assert code == 1
    assert "[pools]" in output and f"organization {poolless.pk} (msp): 0 live pools" in output


def test_a_pool_on_an_organization_that_is_not_an_msp_is_reported(books, capsys, operator_org):
    LedgerAccount.objects.create(kind="pool", organization=operator_org)
    code, output = run(capsys)
    assert code == 1
    assert f"organization {operator_org.pk} (operator): 1 live pools" in output


def test_a_duplicated_system_account_is_reported(books, capsys):
    ledger.system_account("consumed")
    with connection.cursor() as cursor:
        # Possible only where the schema's one-system-account index is missing.
        cursor.execute("DROP INDEX IF EXISTS ledger_one_system_account")
    LedgerAccount.objects.create(kind="consumed")
    code, output = run(capsys)
    assert code == 1
    assert "[system_accounts]" in output and "2 consumed accounts" in output


def test_a_retired_pool_that_points_at_another_msps_pool_is_reported(books, capsys):
    other = OrganizationFactory()
    stray = LedgerAccount.objects.create(
        kind="pool", organization=books.organization, retired_into=ledger.pool_for(other)
    )
    code, output = run(capsys)
    assert code == 1
    assert f"retired pool {stray.pk}" in output


@pytest.mark.parametrize("status", ["pending_approval", "rejected", "withdrawn", "cancelled", "merged"])
def test_an_account_whose_points_can_no_longer_move_but_holds_some_is_reported(books, capsys, status):
    CustomerAccount.objects.filter(pk=books.pk).update(status=status)
    code, output = run(capsys)
    assert code == 1
    assert "[settled_balance]" in output and f"is {status} but its wallet holds -50 points" in output


def _cancelled(customer, when):
    CustomerAccount.objects.filter(pk=customer.pk).update(status="cancelled")
    CustomerStatusChange.objects.create(customer=customer, from_status="active", to_status="cancelled", created_at=when)


def test_a_charge_posted_after_the_settlement_is_reported(msp_org, capsys):
    customer = CustomerAccountFactory(organization=msp_org)
    fund(msp_org, 100)
    give(customer, 30)
    wallet, consumed = ledger.wallet_for(customer), ledger.system_account("consumed")
    move("settlement_forfeit", wallet, consumed, 30, customer=customer)
    _cancelled(customer, dt.datetime(2026, 11, 26, tzinfo=dt.UTC))
    assert ledger_problems() == []
    move("consumption", wallet, consumed, 12, customer=customer, period="2026-10")
    # And settled again: the balance is back at 0, but that charge came after a settlement.
    move("settlement_topup", ledger.pool_for(msp_org), wallet, 12, customer=customer)
    assert ledger_problems() == []
    move("consumption", wallet, consumed, 12, customer=customer, period="2026-09")
    code, output = run(capsys)
    assert code == 1
    assert "[charge_after_settlement]" in output and f"(id {customer.pk}) is cancelled" in output


def test_a_charge_posted_after_an_account_ended_at_zero_is_reported(msp_org, capsys):
    customer = CustomerAccountFactory(organization=msp_org)
    ended = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
    _cancelled(customer, ended)
    wallet, consumed = ledger.wallet_for(customer), ledger.system_account("consumed")
    with time_machine.travel(ended - dt.timedelta(days=30)):
        move("consumption", wallet, consumed, 12, customer=customer, period="2026-10")
    with time_machine.travel(ended - dt.timedelta(days=20)):
        move("allocate", ledger.pool_for(msp_org), wallet, 12, customer=customer)
    assert "charge_after_settlement" not in {problem.check for problem in ledger_problems()}
    with time_machine.travel(ended + dt.timedelta(days=1)):
        move("consumption", wallet, consumed, 12, customer=customer, period="2026-11")
    assert "charge_after_settlement" in {problem.check for problem in ledger_problems()}
