"""The customer account lifecycle through the Japanese UI, in Chromium."""

import re

import pytest
from playwright.sync_api import expect

from customers.models import CustomerAccount
from customers.selectors import approval_due_date
from customers.tests.factories import CustomerAccountFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(chromium_page, browser_login, user):
    browser_login(chromium_page, user.email)
    chromium_page.wait_for_url("**/dashboard/")


def open_popup(page, locator):
    locator.click()
    expect(page.locator("#portal-modal")).to_be_visible()
    return page.locator("#portal-modal-content")


def register_through_popup(page, code, company):
    page.goto(page.portal_url("/customers/"))
    modal = open_popup(page, page.get_by_test_id("register"))
    expect(modal.locator(".modal-title")).to_have_text("基本情報登録")
    expect(modal.get_by_test_id("group-customer")).to_contain_text("顧客情報")
    expect(modal.get_by_test_id("group-contract")).to_contain_text("契約ユーザ数")
    expect(modal.get_by_test_id("group-reseller")).to_contain_text("販売店情報")
    modal.locator("[name=account_code]").fill(code)
    modal.locator("[name=company_name]").fill(company)
    modal.locator("[name=email_domain]").fill("user@" + code + ".example.jp")
    modal.locator("[name=contracted_users]").fill("0")
    modal.get_by_test_id("submit").click()
    # Bad input: the popup stays, explains in Japanese, nothing is saved.
    expect(modal.get_by_test_id("field-error-email_domain")).to_contain_text("「@」")
    expect(modal.get_by_test_id("field-error-contracted_users")).to_contain_text("1以上")
    assert not CustomerAccount.objects.filter(account_code=code).exists()
    modal.locator("[name=email_domain]").fill(code + ".example.jp")
    modal.locator("[name=contracted_users]").fill("50")
    modal.locator("[name=reseller_name]").fill("関西システム販売")
    modal.get_by_test_id("submit").click()
    page.wait_for_url("**/customers/pending/")


def test_registration_approval_and_provisioning_end_with_an_active_account(
    page, chromium, live_server, browser_login, msp_admin, operator_user
):
    sign_in(page, browser_login, msp_admin)
    register_through_popup(page, "hikari-denki", "ひかり電機株式会社")
    customer = CustomerAccount.objects.get(account_code="hikari-denki")
    row = page.locator(f"#application-{customer.pk}")
    expect(row).to_contain_text("承認待ち")
    expect(row).to_contain_text(approval_due_date(customer).strftime("%Y/%m/%d"))

    operator_context = chromium.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    operator_page = operator_context.new_page()
    operator_page.portal_url = page.portal_url
    sign_in(operator_page, browser_login, operator_user)
    operator_page.goto(operator_page.portal_url("/customers/pending/"))
    modal = open_popup(operator_page, operator_page.locator(f"#application-{customer.pk}").get_by_test_id("approve"))
    modal.get_by_test_id("submit").click()
    expect(operator_page.locator("#messages")).to_contain_text("承認しました")
    operator_context.close()

    customer.refresh_from_db()
    assert customer.status == "active"
    page.goto(page.portal_url("/customers/"))
    expect(page.locator(f"#customer-{customer.pk}")).to_contain_text("利用中")
    expect(page.locator(f"#customer-{customer.pk}")).to_contain_text("関西システム販売")


def test_a_returned_application_is_corrected_and_resubmitted(
    page, chromium, live_server, browser_login, msp_admin, operator_user
):
    sign_in(page, browser_login, msp_admin)
    register_through_popup(page, "mirai-shoji", "みらい商事")
    customer = CustomerAccount.objects.get(account_code="mirai-shoji")

    operator_context = chromium.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    operator_page = operator_context.new_page()
    operator_page.portal_url = page.portal_url
    sign_in(operator_page, browser_login, operator_user)
    operator_page.goto(operator_page.portal_url("/customers/pending/"))
    modal = open_popup(operator_page, operator_page.locator(f"#application-{customer.pk}").get_by_test_id("reject"))
    modal.get_by_test_id("submit").click()
    expect(modal.get_by_test_id("field-error-reason")).to_contain_text("差戻しの理由を入力してください")
    modal.locator("[name=reason]").fill("会社名は正式名称（株式会社を含む）で登録してください。")
    modal.get_by_test_id("submit").click()
    # Wait for the outcome (the flash message after the reload), not for the word 差戻し: the
    # row's reject button carries it already, and closing the page early would cancel the POST.
    expect(operator_page.locator("#messages")).to_contain_text("みらい商事")
    expect(operator_page.locator(f"#application-{customer.pk}").get_by_test_id("status-badge")).to_contain_text(
        "差戻し"
    )
    operator_context.close()

    page.goto(page.portal_url("/customers/pending/"))
    row = page.locator(f"#application-{customer.pk}")
    expect(row.get_by_test_id("reject-reason")).to_contain_text("正式名称")
    modal = open_popup(page, row.get_by_test_id("resubmit"))
    modal.locator("[name=company_name]").fill("株式会社みらい商事")
    modal.get_by_test_id("submit").click()
    page.wait_for_url("**/customers/pending/")
    expect(page.locator(f"#application-{customer.pk}")).to_contain_text("承認待ち")
    expect(page.locator(f"#application-{customer.pk}")).to_contain_text("株式会社みらい商事")


def test_contract_support_screen_and_archive_changes_show_in_the_list_and_detail(
    page, live_server, browser_login, msp_admin, msp_org, support_org
):
    customer = CustomerAccountFactory(organization=msp_org, company_name="あおば建設株式会社", contracted_users=20)
    cancelled = CustomerAccountFactory(organization=msp_org, company_name="解約済み商店", status="cancelled")
    sign_in(page, browser_login, msp_admin)
    page.goto(page.portal_url("/customers/"))
    row = page.locator(f"#customer-{customer.pk}")
    expect(page.locator(f"#customer-{cancelled.pk}")).to_have_class(re.compile("row-cancelled"))

    # 契約ユーザ数更新: the row refreshes in place.
    modal = open_popup(page, row.get_by_test_id("contract-change"))
    expect(modal.locator(".modal-title")).to_have_text("契約ユーザ数更新")
    modal.locator("[name=contracted_users]").fill("1000001")
    modal.get_by_test_id("submit").click()
    expect(modal.get_by_test_id("field-error-contracted_users")).to_contain_text("1,000,000以下")
    modal.locator("[name=contracted_users]").fill("150")
    modal.get_by_test_id("submit").click()
    expect(page.locator("#portal-modal")).to_be_hidden()
    expect(row.get_by_test_id("contracted-users")).to_have_text("150")
    expect(page.locator("#list-flash")).to_contain_text("150")

    # 編集 → サポート: assign the MSP's support account.
    modal = open_popup(page, row.get_by_test_id("edit"))
    modal.get_by_test_id("tab-support").click()
    modal.locator("[name=support_account]").select_option(str(support_org.pk))
    modal.get_by_test_id("submit").click()
    expect(page.locator(f"#customer-{customer.pk}")).to_contain_text(support_org.name)

    # 編集 → 画面のカスタマイズ: uncheck two menus.
    modal = open_popup(page, page.locator(f"#customer-{customer.pk}").get_by_test_id("edit"))
    modal.get_by_test_id("tab-screen").click()
    expect(modal.get_by_test_id("edit-form-screen")).to_be_visible()
    modal.get_by_label("管理者").uncheck()
    modal.get_by_label("ユーザ一括登録・エクスポート").uncheck()
    modal.get_by_test_id("submit").click()
    expect(page.locator("#messages")).to_contain_text("更新しました")

    # Archive the cancelled account: it leaves the default list.
    modal = open_popup(page, page.locator(f"#customer-{cancelled.pk}").get_by_test_id("archive"))
    modal.get_by_test_id("submit").click()
    expect(page.locator("#messages")).to_contain_text("アーカイブしました")
    expect(page.locator(f"#customer-{cancelled.pk}")).to_have_count(0)
    page.goto(page.portal_url("/customers/?archived=only"))
    expect(page.locator(f"#customer-{cancelled.pk}")).to_contain_text("アーカイブ済み")

    page.goto(page.portal_url(f"/customers/{customer.pk}/"))
    expect(page.get_by_test_id("section-overview").get_by_test_id("contracted-users")).to_have_text("150")
    expect(page.get_by_test_id("support-account")).to_have_text(support_org.name)
    expect(page.get_by_test_id("hidden-menus")).to_contain_text("管理者")
    expect(page.get_by_test_id("hidden-menus")).to_contain_text("ユーザ一括登録・エクスポート")
    expect(page.get_by_test_id("contract-history")).to_contain_text("150")
    expect(page.get_by_test_id("audit-trail")).to_contain_text("画面のカスタマイズの変更")
    page.goto(page.portal_url(f"/customers/{cancelled.pk}/"))
    expect(page.get_by_test_id("archived-badge")).to_be_visible()

    customer.refresh_from_db()
    assert customer.hidden_menus == ["admins", "user_bulk"]
