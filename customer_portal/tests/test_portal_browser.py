"""The seed's step 4 in a browser: an MSP admin switches to a customer's admin portal, registers
the customer's administrator and returns; the customer admin signs in and sees only the menus
the MSP left visible."""

import re

import pytest
from django.core import mail

from conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_msp_admin_switches_into_a_customer_portal_and_registers_an_admin(
    page, browser_login, msp_admin, portal_customer
):
    browser_login(page, msp_admin.email)
    page.wait_for_url("**/dashboard/")
    page.get_by_role("link", name="顧客画面").click()
    page.wait_for_url("**/c/")
    page.fill("input[name=q]", "ポータル顧客")
    page.get_by_role("button", name="検索").click()
    page.get_by_test_id(f"open-{portal_customer.account_code}").click()
    page.wait_for_url(f"**/c/{portal_customer.account_code}/info/")
    assert "株式会社ポータル顧客" in page.get_by_test_id("acting-banner").inner_text()

    page.locator('[data-menu="admins"]').click()
    page.wait_for_url("**/admins/")
    page.get_by_test_id("register-admin").click()
    modal = page.locator("#portal-modal")
    modal.locator("input[name=name]").fill("顧客 花子")
    modal.locator("input[name=email]").fill("hanako@portal-customer.example")
    modal.get_by_role("button", name="登録").click()
    page.locator('tr[data-admin="hanako@portal-customer.example"]').wait_for()
    assert "管理者 hanako@portal-customer.example を登録しました" in page.locator("#messages").inner_text()

    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert re.search(r"/c/password/set/[^/\s]+/[^/\s]+/", body)
    assert PASSWORD not in body and "password:" not in body.lower()

    page.get_by_test_id("leave-portal").click()
    page.wait_for_url("**/dashboard/")
    assert page.get_by_test_id("acting-banner").count() == 0


def test_a_customer_admin_signs_in_and_sees_only_the_allowed_menus(
    page, browser_login, customer_admin, portal_customer
):
    portal_customer.hidden_menus = ["user_bulk"]
    portal_customer.save()
    browser_login(page, customer_admin.email)
    page.wait_for_url(f"**/c/{portal_customer.account_code}/info/")
    menu = page.get_by_test_id("portal-menu")
    assert [link.get_attribute("data-menu") for link in menu.locator("a[data-menu]").all()] == [
        "basic_info",
        "admins",
        "users",
    ]
    assert page.get_by_test_id("switch-customer").count() == 0
    assert page.get_by_test_id("acting-banner").count() == 0
    response = page.goto(page.portal_url(f"/c/{portal_customer.account_code}/bulk/"))
    assert response.status == 404
    response = page.goto(page.portal_url("/dashboard/"))
    assert response.status == 403
