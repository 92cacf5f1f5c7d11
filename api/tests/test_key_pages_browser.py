"""In the browser: create a key (with the re-authentication), see it once, list it, revoke it;
the docs pages run under the portal's CSP (the `page` fixture fails on any violation)."""

from __future__ import annotations

import time
from importlib import import_module

import pytest
from django.conf import settings

from api.models import ApiKey
from conftest import totp_token, two_factor_device
from msp_portal.permissions import REAUTHENTICATED_AT_SESSION_KEY

from .conftest import ApiClient

pytestmark = pytest.mark.browser


def test_an_admin_creates_sees_once_lists_and_revokes_a_key(page, browser_login, msp_admin, customer):
    device = two_factor_device(msp_admin)
    browser_login(page, msp_admin.email)
    page.wait_for_url("**/dashboard/")
    session_key = next(cookie["value"] for cookie in page.context.cookies() if cookie["name"] == "sessionid")
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
    store[REAUTHENTICATED_AT_SESSION_KEY] = time.time() - 11 * 60
    store.save()

    page.goto(page.portal_url("/api-keys/"))
    page.locator("[data-testid=api-key-create]").click()
    popup = page.locator("#portal-modal")
    popup.locator("input[name=name]").fill("請求システム")
    popup.locator("input[name=scopes][value='customers:read']").check()
    popup.locator("input[name=scopes][value='points:write']").check()
    popup.locator("[data-testid=api-key-form] button[type=submit]").click()
    # Asked to prove it is them again; nothing is created yet.
    popup.locator("[data-testid=reauthenticate-form] input[name=token]").fill(totp_token(device))
    assert not ApiKey.objects.exists()
    popup.locator("#reauthenticate-submit").click()
    popup.locator("#reauthenticate-continue").click()
    secret = popup.locator("[data-testid=api-key-secret]").input_value()
    key = ApiKey.objects.get()
    assert secret.startswith(key.prefix + ".") and sorted(key.scopes) == ["customers:read", "points:write"]
    assert ApiClient(secret).get(f"/api/v1/customers/{customer.pk}/").status_code == 200

    popup.locator("[data-testid=api-key-done]").click()
    page.wait_for_url("**/api-keys/")
    row = page.locator(f"[data-testid=api-key-row][data-prefix='{key.prefix}']")
    assert "請求システム" in row.inner_text()
    assert secret not in page.content()  # shown once

    row.locator("[data-testid=api-key-revoke]").click()
    page.locator("[data-testid=api-key-revoke-form] button[type=submit]").click()
    page.wait_for_selector(f"[data-testid=api-key-row][data-prefix='{key.prefix}'] .text-bg-secondary")
    key.refresh_from_db()
    assert key.revoked
    assert ApiClient(secret).get(f"/api/v1/customers/{customer.pk}/").status_code == 401


@pytest.mark.parametrize("path", ["/api/v1/schema/swagger/", "/api/v1/schema/redoc/"])
def test_the_api_docs_render_offline_under_the_csp(path, page):
    page.goto(page.portal_url(path))
    page.wait_for_selector("text=MSP Portal API")
    page.wait_for_selector("text=customers", timeout=20_000)
