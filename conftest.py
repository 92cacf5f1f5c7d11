"""Shared fixtures: the named personas, and the gates for tests that need real services.

Tests marked `postgres`, `redis` or `browser` run when the service is there and are skipped
otherwise — except when PORTAL_REQUIRE_SERVICES names the service (CI sets "postgres,redis,browser"):
then a missing service fails those tests, and a required suite that ran no test fails the run.
"""

from __future__ import annotations

import os
import shutil

import pytest

SERVICE_MARKERS = ("postgres", "redis", "browser")
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


def _required_services() -> set[str]:
    raw = os.environ.get("PORTAL_REQUIRE_SERVICES", "")
    names = {part.strip() for part in raw.split(",") if part.strip()}
    return set(SERVICE_MARKERS) if "all" in names else names


def _service_problem(name: str) -> str | None:
    """Why the service is unavailable, or None when it is there."""
    if name == "postgres":
        from django.db import connection

        return None if connection.vendor == "postgresql" else "DATABASE_URL is not PostgreSQL"
    if name == "redis":
        url = os.environ.get("REDIS_URL")
        if not url:
            return "REDIS_URL is not set"
        try:
            import redis

            redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        except Exception as exc:  # any failure means the server is not usable
            return f"Redis at REDIS_URL does not answer ({type(exc).__name__})"
        return None
    if name == "browser":
        if not os.path.exists(CHROMIUM_PATH):
            return f"no Chromium at {CHROMIUM_PATH}"
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            return "playwright is not installed"
        return None
    raise ValueError(name)


def pytest_collection_modifyitems(config, items):
    required = _required_services()
    problems = {name: _service_problem(name) for name in SERVICE_MARKERS}
    config._portal_service_counts = dict.fromkeys(SERVICE_MARKERS, 0)
    for item in items:
        for name in SERVICE_MARKERS:
            if item.get_closest_marker(name) is None:
                continue
            config._portal_service_counts[name] += 1
            problem = problems[name]
            if problem is None:
                continue
            if name in required:
                item.add_marker(pytest.mark.usefixtures("_portal_service_missing"))
                item.user_properties.append(("service_problem", f"{name}: {problem}"))
            else:
                item.add_marker(pytest.mark.skip(reason=f"{name} unavailable: {problem}"))


@pytest.fixture
def _portal_service_missing(request):
    problems = [value for key, value in request.node.user_properties if key == "service_problem"]
    pytest.fail("required service missing: " + "; ".join(problems))


def pytest_runtest_logreport(report):
    # With a service required, a skipped service test counts as a failure: CI must not pass
    # with a suite that did not really run.
    if report.skipped and report.when in ("setup", "call"):
        required = _required_services()
        markers = set(report.keywords) & required
        if markers:
            report.outcome = "failed"
            report.longrepr = f"skipped although {', '.join(sorted(markers))} is required: {report.longrepr}"


def pytest_sessionfinish(session, exitstatus):
    counts = getattr(session.config, "_portal_service_counts", None)
    if counts is None or session.config.option.collectonly:
        return
    if getattr(session.config.option, "keyword", "") or getattr(session.config.option, "markexpr", ""):
        return
    if session.config.args and any("::" in arg or arg.endswith(".py") for arg in session.config.args):
        return
    empty = [name for name in sorted(_required_services()) if counts.get(name, 0) == 0]
    if empty:
        session.config.get_terminal_writer().line(f"required service suites ran no test: {', '.join(empty)}", red=True)
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _reference_data_after_flush(request):
    """Transactional tests (browser, threads) flush every table afterwards, including the rows
    data migrations created; put the default consumption rule back, as migration 0002 made it."""
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))) or (
        {"transactional_db", "live_server"} & set(request.fixturenames)
    )
    if not transactional:
        return
    request.getfixturevalue("transactional_db")
    import datetime as dt

    from points.models import ConsumptionRule

    ConsumptionRule.objects.get_or_create(
        effective_from=dt.date(2000, 1, 1),
        defaults={"base_points": 10, "included_users": 10, "points_per_extra_user": 1, "memo": "default"},
    )


@pytest.fixture(autouse=True)
def _reset_axes_and_cache():
    from django.core.cache import cache

    cache.clear()
    yield


# --- Personas --------------------------------------------------------------------------------

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def operator_org(db):
    from accounts.tests.factories import OrganizationFactory
    from msp_portal.permissions import OrganizationKind

    return OrganizationFactory(name="SingleID 運営", kind=OrganizationKind.OPERATOR)


@pytest.fixture
def pmsp_org(db):
    from accounts.tests.factories import OrganizationFactory
    from msp_portal.permissions import OrganizationKind

    return OrganizationFactory(name="特権MSP株式会社", kind=OrganizationKind.PRIVILEGED_MSP)


@pytest.fixture
def msp_org(pmsp_org):
    from accounts.tests.factories import OrganizationFactory
    from msp_portal.permissions import OrganizationKind

    return OrganizationFactory(name="子MSP株式会社", kind=OrganizationKind.MSP, parent=pmsp_org)


@pytest.fixture
def other_msp_org(db):
    from accounts.tests.factories import OrganizationFactory
    from msp_portal.permissions import OrganizationKind

    return OrganizationFactory(name="別MSP株式会社", kind=OrganizationKind.MSP)


@pytest.fixture
def support_org(msp_org):
    from accounts.tests.factories import OrganizationFactory
    from msp_portal.permissions import OrganizationKind

    return OrganizationFactory(name="子MSPサポート", kind=OrganizationKind.SUPPORT, parent=msp_org)


def _member(organization, role, email):
    from accounts.tests.factories import UserFactory

    return UserFactory(email=email, membership__organization=organization, membership__role=role)


@pytest.fixture
def operator_user(operator_org):
    return _member(operator_org, "operator_admin", "operator@test.example")


@pytest.fixture
def operator_viewer(operator_org):
    return _member(operator_org, "operator_viewer", "operator-viewer@test.example")


@pytest.fixture
def pmsp_admin(pmsp_org):
    return _member(pmsp_org, "admin", "pmsp-admin@test.example")


@pytest.fixture
def msp_admin(msp_org):
    return _member(msp_org, "admin", "msp-admin@test.example")


@pytest.fixture
def msp_sales(msp_org):
    return _member(msp_org, "sales", "msp-sales@test.example")


@pytest.fixture
def msp_billing(msp_org):
    return _member(msp_org, "billing", "msp-billing@test.example")


@pytest.fixture
def msp_viewer(msp_org):
    return _member(msp_org, "viewer", "msp-viewer@test.example")


@pytest.fixture
def other_msp_admin(other_msp_org):
    return _member(other_msp_org, "admin", "other-msp-admin@test.example")


@pytest.fixture
def support_user(support_org):
    return _member(support_org, "support_staff", "support@test.example")


def two_factor_device(user):
    """The user's confirmed TOTP device, created if they have none."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="test", confirmed=True)


def totp_token(device) -> str:
    """The code the device's authenticator app shows now (or the next one, when the current
    one was already used: a device accepts each code once, and one step of drift)."""
    import time

    from django_otp.oath import TOTP

    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    if totp.t() <= device.last_t:
        totp.time += device.step * (device.last_t - totp.t() + 1)
    return f"{totp.token():0{device.digits}d}"


def _needs_second_factor(user) -> bool:
    from accounts.selectors import user_has_two_factor_device, user_requires_two_factor

    return user_requires_two_factor(user) or user_has_two_factor_device(user)


@pytest.fixture
def client_for(client):
    """`client_for(user)`: a test client signed in as that user. For a user who signs in with
    two-factor (operator staff, or an enrolled device) the session is verified too, with a
    confirmed device created if needed, so the client is fully usable."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    from accounts.views import HAS_DEVICE_SESSION_KEY

    def make(user):
        new_client = Client()
        new_client.force_login(user)
        session = new_client.session
        if _needs_second_factor(user):
            session[DEVICE_ID_SESSION_KEY] = two_factor_device(user).persistent_id
            session[HAS_DEVICE_SESSION_KEY] = True
        else:
            session[HAS_DEVICE_SESSION_KEY] = False
        session.save()
        return new_client

    return make


# --- Browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright (Playwright's own browser download cannot work)."""
    # Playwright's sync API runs an event loop in this thread; the Django ORM calls made by the
    # test itself (fixtures, assertions) are still synchronous and safe.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM_PATH,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    """A fresh browser page (its own cookies), with `page.portal_url(path)` for the live server."""
    context = chromium.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", accept_downloads=True)
    context.set_default_timeout(15_000)
    browser_page = context.new_page()
    browser_page.portal_url = lambda path="/": f"{live_server.url}{path}"
    # The Content-Security-Policy is enforced as in production: anything it blocked on any page or
    # popup the test went through fails the test.
    blocked: list[str] = []
    browser_page.on(
        "console",
        lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None,
    )
    yield browser_page
    context.close()
    assert not blocked, f"the Content-Security-Policy blocked: {blocked}"


@pytest.fixture
def browser_login():
    """`browser_login(page, email, password)`: sign in through the real login form. A user who
    signs in with two-factor (operator staff, or an enrolled device) gets a confirmed device if
    needed, and the token page is filled with the code computed from it."""
    import re

    from accounts.models import User

    def login(browser_page, email, password=PASSWORD):
        browser_page.goto(browser_page.portal_url("/accounts/login/"))
        browser_page.fill("input[name=username]", email)
        browser_page.fill("input[name=password]", password)
        user = User.objects.filter(email__iexact=email).first()
        device = two_factor_device(user) if user is not None and _needs_second_factor(user) else None
        browser_page.click("#login-form button[type=submit]")
        if device is not None:
            browser_page.wait_for_url(re.compile(r".*/accounts/two-factor/.*"))
            browser_page.fill("input[name=token]", totp_token(device))
            browser_page.click("#two-factor-submit")

    return login


@pytest.fixture
def portal_customer(msp_org):
    """An active customer of msp_org, with a support account assigned."""
    from customers.tests.factories import CustomerAccountFactory

    return CustomerAccountFactory(
        organization=msp_org,
        account_code="portal-customer",
        company_name="株式会社ポータル顧客",
        search_text="portal-customer 株式会社ポータル顧客",
        contracted_users=5,
    )


@pytest.fixture
def customer_admin(portal_customer):
    """An admin of `portal_customer` (a user without a staff membership)."""
    from accounts.tests.factories import UserFactory
    from customer_portal.models import CustomerAdmin

    user = UserFactory(email="customer-admin@test.example", name="顧客 管理者", membership=None)
    CustomerAdmin.objects.create(user=user, customer=portal_customer)
    return user
