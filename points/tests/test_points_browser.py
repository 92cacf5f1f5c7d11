"""The point popups from the customer list, in a real browser (htmx, Bootstrap modal, the live
preview script, the bulk action)."""

import datetime as dt

import pytest

from customers.models import CustomerAccount
from customers.tests.factories import CustomerAccountFactory
from msp_portal import dates
from points.estimates import refresh_estimates
from points.models import Transfer
from points.selectors import pool_balance

from .helpers import fund, give

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def active_customer(organization, users=20):
    return CustomerAccountFactory(
        organization=organization, contracted_users=users, activated_at=dates.start_of_day(dt.date(2025, 1, 1))
    )


def open_list(page, browser_login, user):
    browser_login(page, user.email)
    page.wait_for_url("**/dashboard/")
    page.goto(page.portal_url("/customers/"))


def test_an_msp_admin_adds_points_then_removes_them_into_a_negative_balance(page, browser_login, msp_admin, msp_org):
    fund(msp_org, 1000)
    customer = active_customer(msp_org)
    give(customer, 30)
    open_list(page, browser_login, msp_admin)
    row = page.locator(f"#customer-{customer.pk}")
    modal = page.locator("#portal-modal")

    row.get_by_test_id("points-change").click()
    modal.get_by_text("ポイント数更新").wait_for()
    modal.get_by_label("追加").check()
    modal.get_by_label("変更ポイント").fill("100")
    assert modal.get_by_test_id("result-points").inner_text() == "130"
    with page.expect_navigation():  # htmx answers HX-Redirect: the list reloads
        modal.get_by_role("button", name="変更").click()
    assert row.get_by_test_id("points-balance").inner_text() == "130"

    row.get_by_test_id("points-change").click()
    modal.get_by_text("ポイント数更新").wait_for()
    modal.get_by_label("削除").check()
    modal.get_by_label("変更ポイント").fill("200")
    assert modal.get_by_test_id("result-points").inner_text() == "-70"
    assert modal.get_by_test_id("negative-warning").is_visible()
    modal.get_by_role("button", name="変更").click()
    modal.get_by_label("現在のポイントがマイナスになることを確認しました。").check()
    assert CustomerAccount.objects.with_points().get(pk=customer.pk).points_balance == 130  # not before confirming
    with page.expect_navigation():
        modal.get_by_role("button", name="変更").click()
    assert row.get_by_test_id("points-balance").inner_text() == "-70"
    assert "points-negative" in row.get_by_test_id("points-balance").get_attribute("class")
    assert pool_balance(msp_org) == 1000 - 30 - 100 + 200


def test_bulk_replenish_brings_three_estimates_to_zero_and_the_pool_pays_the_total(
    page, browser_login, msp_billing, msp_org
):
    fund(msp_org, 500)
    short = [active_customer(msp_org, users) for users in (30, 45, 60)]
    give(short[0], 10)
    refresh_estimates()
    open_list(page, browser_login, msp_billing)
    for customer in short:
        page.locator(f"#customer-{customer.pk} input[name=ids]").check()
    page.get_by_test_id("bulk-menu").click()
    page.get_by_role("button", name="必要ポイントの補充").click()
    modal = page.locator("#portal-modal")
    modal.get_by_text("ポイント数自動更新").wait_for()
    assert modal.get_by_test_id("replenish-total").inner_text() == str(20 + 45 + 60)
    with page.expect_navigation():
        modal.get_by_role("button", name="更新").click()
    for customer in short:
        assert page.locator(f"#customer-{customer.pk}").get_by_test_id("points-estimate").inner_text() == "0"
    assert pool_balance(msp_org) == 500 - 10 - 125


def test_bulk_replenish_is_refused_when_the_pool_is_short_and_nothing_changes(page, browser_login, msp_admin, msp_org):
    fund(msp_org, 50)
    short = [active_customer(msp_org, 30) for _ in range(3)]
    refresh_estimates()
    open_list(page, browser_login, msp_admin)
    for customer in short:
        page.locator(f"#customer-{customer.pk} input[name=ids]").check()
    page.get_by_test_id("bulk-menu").click()
    page.get_by_role("button", name="必要ポイントの補充").click()
    modal = page.locator("#portal-modal")
    modal.get_by_test_id("pool-short").wait_for()
    assert "ディストリビュータ" in modal.get_by_test_id("pool-short").inner_text()
    assert modal.get_by_role("button", name="更新").is_disabled()
    assert pool_balance(msp_org) == 50
    assert not Transfer.objects.filter(kind="allocate").exists()
