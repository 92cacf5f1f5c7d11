"""Cancellation from the customer list, in Chromium: 解約 now, and 解約予定日 set, changed,
cleared, and reached by the daily run."""

import datetime as dt
import re

import pytest
import time_machine
from playwright.sync_api import expect

from billing_jobs.services import run_billing
from billing_jobs.tests.factories import active_customer, buy, move
from customers.models import CustomerAccount, CustomerStatus
from msp_portal import dates
from points import ledger
from points.models import Transfer, TransferKind

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SENTENCE = (
    "解約処理が完了する際に、現在のポイントの不足分のポイントは補充され、"
    "残存分のポイントは消費されます。解約を続行しますか？"
)


@pytest.fixture(autouse=True)
def _between_two_charge_days():
    """A day well after one 25th and before the next, with the clock running: the live server's
    thread reads the same clock, so the popups' figures are the settlement of today's balance.
    (On a 25th before the daily run, an account activated yesterday would owe that month too.)"""
    with time_machine.travel(dt.datetime(2026, 12, 10, 12, tzinfo=dates.TOKYO), tick=True):
        yield


def sign_in(page, browser_login, user):
    browser_login(page, user.email)
    page.wait_for_url("**/dashboard/")


def open_popup(page, locator):
    locator.click()
    expect(page.locator("#portal-modal")).to_be_visible()
    return page.locator("#portal-modal-content")


def recently_activated(organization, **kwargs):
    # Activated after the latest 25th: nothing is owed, so the settlement is the balance alone.
    activated = dates.start_of_day(dates.today()) - dt.timedelta(hours=1)
    return active_customer(organization, activated=activated, **kwargs)


def test_an_immediate_cancellation_needs_the_agreement_then_settles_and_greys_the_row(
    page, browser_login, msp_admin, msp_org
):
    customer = recently_activated(msp_org, company_name="解約テスト商事", points=10)
    buy(msp_org, 100)
    move(TransferKind.WITHDRAW, ledger.wallet_for(customer), ledger.pool_for(msp_org), 40, customer=customer)
    pool_before = ledger.pool_for(msp_org).balance
    sign_in(page, browser_login, msp_admin)
    page.goto(page.portal_url("/customers/"))
    row = page.locator(f"#customer-{customer.pk}")
    # 解約 is in the row's menu of further operations, beside 編集.
    row.get_by_test_id("more-actions").click()
    modal = open_popup(page, row.get_by_test_id("cancel"))
    expect(modal.get_by_test_id("cancel-question")).to_have_text(SENTENCE)
    expect(modal.get_by_test_id("settlement-preview")).to_contain_text("30")
    modal.get_by_test_id("cancel-submit").click()
    expect(modal).to_contain_text("「同意する」にチェックしてください")
    assert CustomerAccount.objects.with_points().get(pk=customer.pk).status == CustomerStatus.ACTIVE
    modal.get_by_label("同意する").check()
    modal.get_by_test_id("cancel-submit").click()
    expect(page.locator("#messages")).to_contain_text("解約しました")
    row = page.locator(f"#customer-{customer.pk}")
    expect(row).to_have_class(re.compile(r"\brow-cancelled\b"))
    expect(row).to_contain_text("解約済み")
    expect(row.get_by_test_id("cancel")).to_have_count(0)
    customer = CustomerAccount.objects.with_points().get(pk=customer.pk)
    assert (customer.status, customer.points_balance) == (CustomerStatus.CANCELLED, 0)
    # −30 topped up from the pool.
    assert Transfer.objects.get(kind=TransferKind.SETTLEMENT_TOPUP, customer=customer).amount == 30
    assert ledger.pool_for(msp_org).balance == pool_before - 30


def test_a_positive_balance_is_forfeited_and_the_pool_is_untouched(page, browser_login, msp_billing, msp_org):
    customer = recently_activated(msp_org, points=25)
    pool_before = ledger.pool_for(msp_org).balance
    sign_in(page, browser_login, msp_billing)
    page.goto(page.portal_url(f"/customers/{customer.pk}/"))
    modal = open_popup(page, page.get_by_test_id("cancel"))
    modal.get_by_label("同意する").check()
    modal.get_by_test_id("cancel-submit").click()
    expect(page.get_by_test_id("customer-name")).to_be_visible()
    expect(page.locator("#messages")).to_contain_text("解約しました")
    assert CustomerAccount.objects.with_points().get(pk=customer.pk).points_balance == 0
    assert Transfer.objects.get(kind=TransferKind.SETTLEMENT_FORFEIT, customer=customer).amount == 25
    assert ledger.pool_for(msp_org).balance == pool_before


def test_a_cancellation_date_is_set_changed_cleared_and_then_reached_by_the_run(
    page, browser_login, msp_admin, msp_org
):
    customer = recently_activated(msp_org, points=5)
    today = dates.today()
    first, second, tomorrow = today + dt.timedelta(days=40), today + dt.timedelta(days=50), today + dt.timedelta(days=1)
    sign_in(page, browser_login, msp_admin)
    page.goto(page.portal_url("/customers/"))

    def schedule(day, *, agree=True):
        modal = open_popup(page, page.locator(f"#customer-{customer.pk}").get_by_test_id("cancellation-date-set"))
        expect(modal.get_by_test_id("cancel-question")).to_have_text(SENTENCE)
        modal.locator("[name=cancellation_date]").fill(day.isoformat())
        if agree:
            modal.get_by_label("同意する").check()
        modal.get_by_test_id("schedule-submit").click()
        return modal

    modal = schedule(today - dt.timedelta(days=1))
    expect(modal).to_contain_text("未来の日付")
    modal.locator("[name=cancellation_date]").fill(first.isoformat())
    modal.get_by_test_id("schedule-submit").click()
    row = page.locator(f"#customer-{customer.pk}")
    expect(row.get_by_test_id("cancellation-date")).to_have_text(first.strftime("%Y/%m/%d"))

    schedule(second)
    expect(page.locator(f"#customer-{customer.pk}").get_by_test_id("cancellation-date")).to_have_text(
        second.strftime("%Y/%m/%d")
    )
    assert CustomerAccount.objects.with_points().get(pk=customer.pk).cancellation_date == second

    modal = open_popup(page, page.locator(f"#customer-{customer.pk}").get_by_test_id("cancellation-date-set"))
    expect(modal.get_by_test_id("current-cancellation-date")).to_have_text(second.isoformat())
    modal.get_by_test_id("clear-submit").click()
    expect(page.locator(f"#customer-{customer.pk}").get_by_test_id("cancellation-date")).to_have_text("")
    assert CustomerAccount.objects.with_points().get(pk=customer.pk).cancellation_date is None

    schedule(tomorrow)
    expect(page.locator(f"#customer-{customer.pk}").get_by_test_id("cancellation-date")).to_have_text(
        tomorrow.strftime("%Y/%m/%d")
    )
    page.goto(page.portal_url("/customers/?cancellation_scheduled=yes"))
    expect(page.locator(f"#customer-{customer.pk}")).to_be_visible()
    run_billing(tomorrow)
    page.goto(page.portal_url("/customers/"))
    row = page.locator(f"#customer-{customer.pk}")
    expect(row).to_have_class(re.compile(r"\brow-cancelled\b"))
    expect(row).to_contain_text("解約済み")
    customer = CustomerAccount.objects.with_points().get(pk=customer.pk)
    assert (customer.status, customer.points_balance) == (CustomerStatus.CANCELLED, 0)
    assert customer.cancelled_at == dates.start_of_day(tomorrow)
