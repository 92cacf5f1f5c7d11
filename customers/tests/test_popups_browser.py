"""Popups and the keyboard, in Chromium: focus moves into the popup, Tab stays inside, Esc
closes it, and focus returns to the button that opened it."""

import pytest
from playwright.sync_api import expect

from customers.tests.factories import CustomerAccountFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INSIDE_POPUP = "() => document.getElementById('portal-modal').contains(document.activeElement)"


def test_a_popup_takes_the_focus_keeps_it_and_gives_it_back(page, live_server, browser_login, msp_admin):
    customer = CustomerAccountFactory(organization=msp_admin.organization, account_code="focus-01")
    browser_login(page, msp_admin.email)
    page.wait_for_url("**/dashboard/")
    page.goto(page.portal_url("/customers/"))
    opener = page.locator(f"#customer-{customer.pk} [data-testid=contract-change]")
    opener.click()
    modal = page.locator("#portal-modal")
    expect(modal).to_be_visible()
    # The popup's first field has the focus.
    expect(modal.locator("[name=contracted_users]")).to_be_focused()
    for key in ["Tab"] * 12 + ["Shift+Tab"] * 12:
        page.keyboard.press(key)
        assert page.evaluate(INSIDE_POPUP), key
    page.keyboard.press("Escape")
    expect(modal).to_be_hidden()
    expect(opener).to_be_focused()
