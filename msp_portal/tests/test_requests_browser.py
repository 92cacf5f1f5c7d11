"""A bulk action posted with a bad id, in a real browser: the popup says why (400), nothing runs."""

import pytest

from customers.tests.factories import CustomerAccountFactory
from points.models import Transfer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_tampered_selection_opens_a_popup_with_the_message(page, browser_login, msp_admin, msp_org):
    customer = CustomerAccountFactory(organization=msp_org)
    browser_login(page, msp_admin.email)
    page.wait_for_url("**/dashboard/")
    page.goto(page.portal_url("/customers/"))
    checkbox = page.locator(f"#customer-{customer.pk} input[name=ids]")
    checkbox.check()
    checkbox.evaluate("box => { box.value = '-5'; }")
    page.get_by_test_id("bulk-menu").click()
    page.get_by_role("button", name="必要ポイントの補充").click()
    modal = page.locator("#portal-modal")
    modal.get_by_test_id("error-400").wait_for()
    assert modal.get_by_test_id("error-400").inner_text() == "選択が正しくありません。"
    assert page.url.endswith("/customers/")
    assert not Transfer.objects.exists()
