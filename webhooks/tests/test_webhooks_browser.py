"""Webhooks in a real browser, through the pages only (the Content-Security-Policy enforced): an
MSP admin opens Webhooks from the menu, registers an endpoint at a receiver on the loopback with
two event types, sends a test event, reads the attempt on the delivery page and redelivers it;
the receiver verified both requests' signatures."""

import pytest
from playwright.sync_api import expect

from webhooks.models import Delivery, Endpoint

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_registers_an_endpoint_sends_a_test_event_and_redelivers_it(page, browser_login, msp_admin, receiver):
    browser_login(page, msp_admin.email)
    page.wait_for_url("**/dashboard/")
    page.get_by_role("link", name="Webhook", exact=True).first.click()
    page.wait_for_url("**/webhooks/")
    page.get_by_test_id("endpoint-create").click()
    page.get_by_label("エンドポイントURL").fill(receiver.url)
    page.get_by_label("説明").fill("PSA連携")
    page.get_by_label("顧客アカウント登録").check()
    page.get_by_label("月次課金処理の完了").check()
    page.get_by_test_id("endpoint-save").click()
    page.wait_for_url("**/webhooks/*/")
    endpoint = Endpoint.objects.get()
    receiver.secret = endpoint.secret
    assert page.get_by_test_id("endpoint-url").inner_text() == receiver.url
    assert page.get_by_test_id("endpoint-event-types").inner_text() == "billing.run_completed, customer.registered"
    page.get_by_test_id("endpoint-secret").locator("summary").click()
    assert endpoint.secret in page.get_by_test_id("endpoint-secret").inner_text()

    page.get_by_test_id("endpoint-test").click()
    page.get_by_test_id("endpoint-test-confirm").click()
    page.wait_for_selector("[data-testid=delivery-state]")
    assert page.get_by_test_id("delivery-state").first.inner_text() == "配信済み"
    page.locator("table a").first.click()
    page.wait_for_url("**/deliveries/*/")
    assert page.get_by_test_id("attempt-status").first.inner_text() == "HTTP 200"
    assert '"type": "webhook.test"' in page.get_by_test_id("delivery-payload").inner_text()

    page.get_by_test_id("delivery-redeliver").click()
    page.get_by_test_id("delivery-redeliver-confirm").click()
    expect(page.get_by_test_id("delivery-attempts")).to_have_text("2")
    assert page.get_by_test_id("attempt-status").count() == 2
    assert Delivery.objects.get().attempt_count == 2
    assert len(receiver.verified()) == 2
