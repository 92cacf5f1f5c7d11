"""Merges and transfers in a real browser, through the pages only: a privileged MSP sees the
suggestion on its dashboard and requests the merge with a note; its child MSP's admin approves
it by typing the code; both lists show the outcome. Then a transfer requested by one MSP and
accepted by the other moves the row from one list to the other."""

import datetime as dt

import pytest

from billing_jobs.tests.factories import active_customer, at
from customers.models import CustomerAccount
from merges.models import AccountRequest
from merges.selectors import msp_code
from msp_portal import dates

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, browser_login, user):
    browser_login(page, user.email)
    page.wait_for_url("**/dashboard/")


@pytest.fixture
def second_page(chromium, live_server):
    """Another browser with its own cookies, for the other side's admin."""
    context = chromium.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    context.set_default_timeout(15_000)
    other = context.new_page()
    other.portal_url = lambda path="/": f"{live_server.url}{path}"
    yield other
    context.close()


def activated():
    return at(dates.today()) - dt.timedelta(days=1)


def test_a_suggested_merge_is_requested_approved_and_shown_in_both_lists(
    page, second_page, browser_login, pmsp_admin, msp_admin, pmsp_org, msp_org
):
    survivor = active_customer(pmsp_org, activated=activated(), users=20, points=100, email_domain="kaisha.example.jp")
    absorbed = active_customer(msp_org, activated=activated(), users=15, points=40, email_domain="kaisha.example.jp")

    sign_in(page, browser_login, pmsp_admin)
    pair = page.get_by_test_id("suggestion-pair")
    assert pair.get_attribute("data-pair") == f"{survivor.account_code}+{absorbed.account_code}"
    pair.get_by_test_id("suggestion-request").click()
    form = page.get_by_test_id("merge-request-form")
    assert "アカウントの統合はやり直しできません" in page.get_by_test_id("merge-warning").inner_text()
    assert page.get_by_test_id("preview-points").inner_text() == "140"
    assert page.get_by_test_id("preview-users").inner_text() == "35"
    form.get_by_label("メモ").fill("同じ会社の重複アカウントです")
    form.get_by_test_id("merge-request-submit").click()
    page.wait_for_url("**/requests/sent/")
    assert page.get_by_test_id("request-row").count() == 1

    child = second_page
    sign_in(child, browser_login, msp_admin)
    child.get_by_role("link", name="統合・移管").first.click()
    child.get_by_test_id("request-open").click()
    assert child.get_by_test_id("request-note").inner_text() == "同じ会社の重複アカウントです"
    approve = child.get_by_test_id("approve-form")
    approve.get_by_label("確認のため、統合されるアカウントのアカウントコードを入力").fill(absorbed.account_code)
    approve.get_by_test_id("approve-submit").click()
    child.get_by_test_id("request-status").filter(has_text="承認済み").wait_for()

    child.goto(child.portal_url("/customers/"))
    row = child.locator(f"#customer-{absorbed.pk}")
    assert "row-cancelled" in row.get_attribute("class")
    assert row.get_by_test_id("status-badge").inner_text() == "統合済み"

    page.goto(page.portal_url("/customers/"))
    row = page.locator(f"#customer-{survivor.pk}")
    assert row.get_by_test_id("points-balance").inner_text() == "140"
    assert row.get_by_test_id("contracted-users").inner_text() == "35"
    assert page.locator(f"#customer-{absorbed.pk}").get_by_test_id("status-badge").inner_text() == "統合済み"
    assert CustomerAccount.objects.get(pk=absorbed.pk).status == "merged"


def test_an_accepted_transfer_moves_the_row_to_the_other_msps_list(
    page, second_page, browser_login, msp_admin, other_msp_admin, msp_org, other_msp_org
):
    customer = active_customer(msp_org, activated=activated(), points=25)
    sign_in(page, browser_login, msp_admin)
    page.goto(page.portal_url(f"/customers/{customer.pk}/"))
    page.get_by_test_id("transfer-request-open").click()
    form = page.get_by_test_id("transfer-request-form")
    form.get_by_label("移管先MSPのコード").fill(msp_code(other_msp_org))
    form.get_by_test_id("transfer-preview-update").click()
    assert page.get_by_test_id("transfer-balance").inner_text() == "25"
    page.get_by_test_id("transfer-request-submit").click()
    page.wait_for_url("**/requests/sent/")
    assert AccountRequest.objects.get().status == "pending"

    other = second_page
    sign_in(other, browser_login, other_msp_admin)
    other.goto(other.portal_url("/customers/"))
    assert other.locator(f"#customer-{customer.pk}").count() == 0
    other.goto(other.portal_url("/requests/"))
    other.get_by_test_id("request-open").click()
    other.get_by_test_id("approve-submit").click()
    other.get_by_test_id("request-status").filter(has_text="承認済み").wait_for()
    other.goto(other.portal_url("/customers/"))
    assert other.locator(f"#customer-{customer.pk}").get_by_test_id("points-balance").inner_text() == "25"

    page.goto(page.portal_url("/customers/"))
    assert page.locator(f"#customer-{customer.pk}").count() == 0
    response = page.goto(page.portal_url(f"/customers/{customer.pk}/"))
    assert response.status == 404
