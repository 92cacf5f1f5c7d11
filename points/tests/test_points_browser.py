"""The point popups in a real browser (htmx, Bootstrap modal, the live preview script)."""

import pytest

from accounts.models import CustomerAccount
from accounts.tests.factories import CustomerAccountFactory
from points.selectors import pool_balance

from .helpers import fund, give

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_msp_admin_adds_points_then_removes_them_into_a_negative_balance(page, browser_login, msp_admin, msp_org):
    fund(msp_org, 1000)
    customer = CustomerAccountFactory(organization=msp_org)
    give(customer, 30)
    browser_login(page, msp_admin.email)
    page.wait_for_url("**/dashboard/")
    page.goto(page.portal_url(f"/points/customers/{customer.pk}/history/"))

    page.get_by_role("link", name="変更").click()
    modal = page.locator("#portal-modal")
    modal.get_by_text("ポイント数更新").wait_for()
    modal.get_by_label("追加").check()
    modal.get_by_label("変更ポイント").fill("100")
    assert modal.get_by_test_id("result-points").inner_text() == "130"
    with page.expect_navigation():  # htmx answers HX-Redirect: the page reloads
        modal.get_by_role("button", name="変更").click()
    assert page.get_by_test_id("customer-balance").inner_text() == "130"

    page.get_by_role("link", name="変更").click()
    modal.get_by_text("ポイント数更新").wait_for()
    modal.get_by_label("削除").check()
    modal.get_by_label("変更ポイント").fill("200")
    assert modal.get_by_test_id("result-points").inner_text() == "-70"
    assert modal.get_by_test_id("negative-warning").is_visible()
    modal.get_by_role("button", name="変更").click()
    modal.get_by_label("現在のポイントがマイナスになることを確認しました。").check()
    assert CustomerAccount.objects.get(pk=customer.pk).points_balance == 130  # not before confirming
    with page.expect_navigation():
        modal.get_by_role("button", name="変更").click()
    assert page.get_by_test_id("customer-balance").inner_text() == "-70"
    assert CustomerAccount.objects.get(pk=customer.pk).points_balance == -70
    assert pool_balance(msp_org) == 1000 - 30 - 100 + 200
