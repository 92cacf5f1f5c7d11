"""The portal's main pages in Chromium, as each role sees them over the demo data, in Japanese and
English, at 1280×800 and 390×844: nothing sticks out of the page sideways (tables scroll inside
their own container), no menu label wraps onto a second line, axe-core finds no critical or
serious accessibility violation, and the browser logs no error.

Each test walks one role's pages in the four combinations and reports every problem it found
at once, with the page, language and size it was found at."""

import io

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command

from accounts.management.commands.seed_demo import DEMO_PASSWORD
from customers.models import CustomerAccount, CustomerStatus

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

VIEWPORTS = [(1280, 800), (390, 844)]
LANGUAGES = ["ja", "en"]

# Elements that stick out of the viewport sideways and are not inside a container that scrolls
# (or clips) sideways: what makes a page scroll sideways on a phone.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const insideScroller = (element) => {
    for (let a = element.parentElement; a && a !== document.body; a = a.parentElement) {
      if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(a).overflowX)) return true;
    }
    return false;
  };
  const found = [];
  for (const element of document.body.querySelectorAll('*')) {
    const box = element.getBoundingClientRect();
    if (!box.width || !box.height || getComputedStyle(element).visibility === 'hidden') continue;
    if ((box.right > width + 1 || box.left < -1) && !insideScroller(element)) {
      const name = `<${element.tagName.toLowerCase()} class="${element.className}">`;
      found.push(`${name} ${Math.round(box.left)}..${Math.round(box.right)}px`);
    }
  }
  const pageWidth = document.documentElement.scrollWidth;
  if (pageWidth > width + 1) found.push(`the page is ${pageWidth}px wide`);
  return found.slice(0, 5);
}"""

# Menu labels laid out on more than one line (a label's text boxes: one per line), or cut.
WRAPPED_LABELS = """() => Array.from(document.querySelectorAll('[data-nav-label]'))
  .filter((label) => label.getClientRects().length > 1 || label.scrollWidth > label.parentElement.clientWidth + 1)
  .map((label) => label.textContent.trim())"""

# Controls that must show their whole label (the language switch): cut ones.
CUT_LABELS = """() => Array.from(document.querySelectorAll('[data-whole-label]'))
  .filter((control) => control.offsetWidth && control.scrollWidth > control.clientWidth + 1)
  .map((control) => control.textContent.trim())"""

axe = Axe()


def _problems_on(page, url: str, where: str) -> list[str]:
    errors: list[str] = []
    on_console = lambda message: errors.append(message.text) if message.type == "error" else None  # noqa: E731
    on_error = lambda error: errors.append(str(error))  # noqa: E731
    page.on("console", on_console)
    page.on("pageerror", on_error)
    try:
        response = page.goto(url)
    finally:
        page.remove_listener("console", on_console)
        page.remove_listener("pageerror", on_error)
    problems = []
    if response is None or response.status != 200:
        problems.append(f"answered {response.status if response else 'nothing'}")
    problems += [f"sticks out: {found}" for found in page.evaluate(OVERFLOWING)]
    has_menu = page.get_by_test_id("menu-button").count() > 0
    if has_menu and page.viewport_size["width"] < 992:
        # The menu is a panel opened by the menu button: open it to measure its labels.
        page.get_by_test_id("menu-button").click()
        page.locator("#portal-sidebar.show").wait_for()
    problems += [f"menu label on two lines: {label}" for label in page.evaluate(WRAPPED_LABELS)]
    problems += [f"label cut: {label}" for label in page.evaluate(CUT_LABELS)]
    if has_menu and page.viewport_size["width"] < 992:
        page.keyboard.press("Escape")
        page.locator("#portal-sidebar.show").wait_for(state="detached")
    results = axe.run(page)
    for violation in results.response["violations"]:
        if violation["impact"] in ("critical", "serious"):
            targets = ", ".join(str(node["target"]) for node in violation["nodes"][:3])
            problems.append(f"axe {violation['impact']}: {violation['id']} ({violation['help']}) at {targets}")
    problems += [f"console error: {error}" for error in errors]
    return [f"{where}: {problem}" for problem in problems]


def _walk(chromium, live_server, browser_login, email: str, paths: list[str]) -> list[str]:
    problems = []
    for language in LANGUAGES:
        for width, height in VIEWPORTS:
            context = chromium.new_context(viewport={"width": width, "height": height}, locale="ja-JP")
            context.set_default_timeout(15_000)
            page = context.new_page()
            page.portal_url = lambda path="/": f"{live_server.url}{path}"
            try:
                browser_login(page, email, DEMO_PASSWORD)
                page.wait_for_load_state()
                context.add_cookies([{"name": "portal_language", "value": language, "url": live_server.url}])
                for path in paths:
                    problems += _problems_on(page, page.portal_url(path), f"{path} {language} {width}px")
                    assert page.locator("html").get_attribute("lang") == language
            finally:
                context.close()
    return problems


@pytest.fixture
def demo(transactional_db):
    call_command("seed_demo", "--force", "--customers", "40", stdout=io.StringIO())


def test_an_msp_admins_pages(chromium, live_server, browser_login, demo):
    customer = CustomerAccount.objects.get(admins__user__email="customer-admin@example.com")
    code = customer.account_code
    paths = [
        "/dashboard/",
        "/customers/",
        "/customers/pending/",
        f"/customers/{customer.pk}/",
        "/points/pool/",
        "/points/purchase-requests/",
        "/audit/",
        "/accounts/staff/",
        "/accounts/support-accounts/",
        "/accounts/profile/",
        "/c/",
        f"/c/{code}/info/",
        f"/c/{code}/admins/",
        f"/c/{code}/users/",
        f"/c/{code}/bulk/",
    ]
    problems = _walk(chromium, live_server, browser_login, "msp-admin@example.com", paths)
    assert not problems, "\n".join(problems)


def test_the_operators_pages(chromium, live_server, browser_login, demo):
    customer = CustomerAccount.objects.filter(status=CustomerStatus.ACTIVE).order_by("pk").first()
    paths = [
        "/dashboard/",
        "/customers/",
        "/customers/pending/",
        f"/customers/{customer.pk}/",
        "/points/pool/",
        "/points/purchase-requests/",
        "/points/rules/",
        "/jobs/",
        "/audit/",
        "/accounts/staff/",
    ]
    problems = _walk(chromium, live_server, browser_login, "operator@example.com", paths)
    assert not problems, "\n".join(problems)


def test_a_customer_admins_pages(chromium, live_server, browser_login, demo):
    code = CustomerAccount.objects.get(admins__user__email="customer-admin@example.com").account_code
    paths = [f"/c/{code}/info/", f"/c/{code}/admins/", f"/c/{code}/users/", f"/c/{code}/bulk/", "/accounts/profile/"]
    problems = _walk(chromium, live_server, browser_login, "customer-admin@example.com", paths)
    assert not problems, "\n".join(problems)


def test_the_sign_in_page(chromium, live_server):
    problems = []
    for language in LANGUAGES:
        for width, height in VIEWPORTS:
            context = chromium.new_context(viewport={"width": width, "height": height}, locale="ja-JP")
            context.add_cookies([{"name": "portal_language", "value": language, "url": live_server.url}])
            page = context.new_page()
            try:
                problems += _problems_on(page, f"{live_server.url}/accounts/login/", f"login {language} {width}px")
            finally:
                context.close()
    assert not problems, "\n".join(problems)


# The customer list's table against its scroll container, and its rows' heights.
LIST_GEOMETRY = r"""() => {
  const table = document.querySelector('table.customer-table');
  const container = table.parentElement;
  const rows = Array.from(table.tBodies[0].rows);
  return {
    tableWidth: table.scrollWidth,
    containerWidth: container.clientWidth,
    tallestRow: Math.max(...rows.map((row) => row.getBoundingClientRect().height)),
    tallestRowText: rows.reduce((a, b) => (b.offsetHeight > a.offsetHeight ? b : a)).innerText.replace(/\s+/g, ' '),
    rows: rows.length,
    cards: rows.filter((row) => getComputedStyle(row).display === 'block').length,
    headerShown: table.tHead.getBoundingClientRect().height > 1,
    widestCard: Math.max(...rows.map((row) => row.getBoundingClientRect().right)),
    stickyFirst: getComputedStyle(table.querySelector('tbody td.cell-account')).position,
  };
}"""


@pytest.mark.parametrize("email", ["msp-admin@example.com", "operator@example.com"])
def test_the_customer_list_fits_1280_px_and_shows_cards_at_390_px(chromium, live_server, browser_login, demo, email):
    for language in LANGUAGES:
        context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")
        page = context.new_page()
        page.portal_url = lambda path="/": f"{live_server.url}{path}"
        try:
            browser_login(page, email, DEMO_PASSWORD)
            page.wait_for_load_state()
            context.add_cookies([{"name": "portal_language", "value": language, "url": live_server.url}])
            page.goto(page.portal_url("/customers/?per_page=100"))
            wide = page.evaluate(LIST_GEOMETRY)
            # Every column, 操作 included, within the page: nothing to scroll to.
            assert wide["tableWidth"] <= wide["containerWidth"], (language, wide)
            # Code and company on two short lines: no row grows past two lines and its buttons.
            assert wide["rows"] >= 10 and wide["tallestRow"] <= 64, (language, wide)
            assert wide["cards"] == 0 and wide["headerShown"] and wide["stickyFirst"] == "sticky"
            page.set_viewport_size({"width": 390, "height": 844})
            narrow = page.evaluate(LIST_GEOMETRY)
            # A card per account, each within the screen, the column names on the cards.
            assert narrow["cards"] == narrow["rows"] == wide["rows"], (language, narrow)
            assert not narrow["headerShown"] and narrow["widestCard"] <= 390, (language, narrow)
            label = page.locator("tbody tr").first.locator("td[data-label]").nth(2)
            assert (
                label.evaluate("(td) => getComputedStyle(td, '::before').content")
                == f'"{label.get_attribute("data-label")}"'
            )
        finally:
            context.close()
