"""The seed's account creation flow (顧客アカウント作成までの流れ), steps 1 to 6, end to end in Chromium:
register → approve → provision → switch to the customer screen → register an admin → back to the
MSP portal → add points → 納品通知 → the captured e-mail carries the account and admin
information and no password."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from conftest import PASSWORD
from customers.models import CustomerAccount
from points.services import points_purchase

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_popup(page, locator):
    locator.click()
    expect(page.locator("#portal-modal")).to_be_visible()
    return page.locator("#portal-modal-content")


def test_the_seed_flow_from_registration_to_the_delivery_notice(
    page, chromium, browser_login, msp_admin, operator_user, msp_org
):
    points_purchase(actor=None, organization=msp_org, amount=1000, order_reference="PO-1", idempotency_key="po-1")
    browser_login(page, msp_admin.email)
    page.wait_for_url("**/dashboard/")

    # 1. The MSP admin registers the account through 基本情報登録.
    page.goto(page.portal_url("/customers/"))
    modal = open_popup(page, page.get_by_test_id("register"))
    modal.locator("[name=account_code]").fill("sakura-kogyo")
    modal.locator("[name=company_name]").fill("さくら工業株式会社")
    modal.locator("[name=email_domain]").fill("sakura-kogyo.example.jp")
    modal.locator("[name=contact_name]").fill("桜井 一郎")
    modal.locator("[name=contact_email]").fill("sakurai@sakura-kogyo.example.jp")
    modal.locator("[name=contracted_users]").fill("30")
    modal.locator("[name=reseller_name]").fill("関西システム販売")
    modal.locator("[name=reseller_contact_name]").fill("販売 太郎")
    modal.locator("[name=reseller_contact_email]").fill("taro@kansai-hanbai.example.jp")
    modal.get_by_test_id("submit").click()
    page.wait_for_url("**/customers/pending/")
    customer = CustomerAccount.objects.get(account_code="sakura-kogyo")
    expect(page.locator(f"#application-{customer.pk}")).to_contain_text("承認待ち")

    # 2–3. The operator approves; provisioning runs (eagerly in tests) and the account is active.
    operator_context = chromium.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    operator_page = operator_context.new_page()
    operator_page.portal_url = page.portal_url
    browser_login(operator_page, operator_user.email)
    operator_page.wait_for_url("**/dashboard/")
    operator_page.goto(operator_page.portal_url("/customers/pending/"))
    modal = open_popup(operator_page, operator_page.locator(f"#application-{customer.pk}").get_by_test_id("approve"))
    modal.get_by_test_id("submit").click()
    expect(operator_page.locator("#messages")).to_contain_text("承認しました")
    operator_context.close()
    customer.refresh_from_db()
    assert customer.status == "active"

    # 4. 顧客画面 → 顧客切り替え → the customer's portal → 管理者 → 登録.
    page.get_by_role("link", name="顧客画面").click()
    page.wait_for_url("**/c/")
    page.fill("input[name=q]", "さくら")
    page.get_by_role("button", name="検索").click()
    page.get_by_test_id("open-sakura-kogyo").click()
    page.wait_for_url("**/c/sakura-kogyo/info/")
    expect(page.get_by_test_id("acting-banner")).to_contain_text("さくら工業株式会社")
    page.locator('[data-menu="admins"]').click()
    page.wait_for_url("**/admins/")
    page.get_by_test_id("register-admin").click()
    admin_modal = page.locator("#portal-modal")
    admin_modal.locator("input[name=name]").fill("工藤 花子")
    admin_modal.locator("input[name=email]").fill("kudo@sakura-kogyo.example.jp")
    admin_modal.get_by_role("button", name="登録").click()
    page.locator('tr[data-admin="kudo@sakura-kogyo.example.jp"]').wait_for()
    page.get_by_test_id("leave-portal").click()
    page.wait_for_url("**/dashboard/")

    # 5. Back in the MSP portal: add points (contracted users × 1 month = 30).
    page.goto(page.portal_url("/customers/"))
    row = page.locator(f"#customer-{customer.pk}")
    row.get_by_test_id("points-change").click()
    points_modal = page.locator("#portal-modal")
    points_modal.get_by_text("ポイント数更新").wait_for()
    points_modal.get_by_label("追加").check()
    points_modal.get_by_label("変更ポイント").fill("30")
    with page.expect_navigation():
        points_modal.get_by_role("button", name="変更").click()
    expect(page.locator(f"#customer-{customer.pk}").get_by_test_id("points-balance")).to_have_text("30")

    # 6. 選択実行 > 納品通知 to the contacts of the basic and reseller information.
    mail.outbox.clear()
    page.locator(f"#customer-{customer.pk} input[name=ids]").check()
    page.get_by_test_id("bulk-menu").click()
    page.get_by_role("button", name="納品通知").click()
    notice = page.locator("#portal-modal")
    expect(notice.get_by_test_id("notice-accounts")).to_contain_text("sakura-kogyo")
    notice.get_by_test_id("send-notice").click()
    expect(notice.get_by_test_id("notice-sent")).to_contain_text("sakura-kogyo")

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert set(message.to) | set(message.cc) >= {"sakurai@sakura-kogyo.example.jp", "taro@kansai-hanbai.example.jp"}
    body = message.body
    assert "sakura-kogyo" in body
    assert "kudo@sakura-kogyo.example.jp" in body or "工藤 花子" in body
    assert re.search(r"https?://\S+", body), "the sign-in URL"
    assert PASSWORD not in body and "パスワード:" not in body and "password:" not in body.lower()
    customer.refresh_from_db()
    assert customer.last_delivery_notice_at is not None
