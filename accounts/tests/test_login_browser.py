import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_msp_admin_signs_in_through_the_japanese_login_page(page, browser_login, msp_admin):
    page.goto(page.portal_url("/"))
    assert page.locator("h1").inner_text() == "MSP管理者ポータルにログイン"
    browser_login(page, msp_admin.email)
    page.wait_for_url("**/dashboard/")
    assert page.locator("h1").inner_text() == "ダッシュボード"
    assert page.get_by_test_id("header-organization").inner_text() == msp_admin.organization.name
