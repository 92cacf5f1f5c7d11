import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import OrganizationFactory
from audit.models import AuditEvent
from customers import bulk_actions, listing
from customers.models import ContractChange, CustomerAccount
from customers.tests.factories import CustomerAccountFactory
from msp_portal.permissions import Cap

pytestmark = pytest.mark.django_db

REGISTRATION = {
    "account_code": "aoba-foods",
    "company_name": "あおばフーズ株式会社",
    "company_name_kana": "アオバフーズカブシキガイシャ",
    "email_domain": "aoba-foods.example.jp",
    "country": "日本",
    "contracted_users": "30",
    "contact_name": "佐藤 花子",
    "contact_email": "sato@aoba-foods.example.jp",
}


def url(name, customer=None):
    return reverse(f"customers:{name}", args=[customer.pk] if customer else [])


@pytest.fixture
def customer(msp_org):
    return CustomerAccountFactory(organization=msp_org, company_name="<script>alert(1)</script>商事", status="active")


# --- the list --------------------------------------------------------------------------------


def test_the_list_shows_the_msps_customers_in_japanese(client_for, msp_admin, customer, other_msp_org):
    CustomerAccountFactory(organization=other_msp_org, company_name="他社の顧客")
    response = client_for(msp_admin).get(url("list"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "顧客アカウント一覧" in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;商事" in body
    assert "<script>alert(1)" not in body
    assert "他社の顧客" not in body


def test_the_list_rejects_post(client_for, msp_admin):
    assert client_for(msp_admin).post(url("list")).status_code == 405


def test_a_privileged_msp_sees_its_childrens_customers_and_the_msp_filter(client_for, pmsp_admin, customer):
    response = client_for(pmsp_admin).get(url("list"))
    assert customer.account_code in response.content.decode()
    assert 'name="organization"' in response.content.decode()


def test_an_msp_admin_has_no_msp_filter(client_for, msp_admin, customer):
    assert 'name="organization"' not in client_for(msp_admin).get(url("list")).content.decode()


def test_support_staff_see_only_assigned_customers(client_for, support_user, support_org, msp_org):
    assigned = CustomerAccountFactory(organization=msp_org, support_account=support_org)
    other = CustomerAccountFactory(organization=msp_org)
    body = client_for(support_user).get(url("list")).content.decode()
    assert assigned.account_code in body
    assert other.account_code not in body
    assert client_for(support_user).get(url("detail", other)).status_code == 404
    assert client_for(support_user).get(url("detail", assigned)).status_code == 200


def test_cancelled_rows_are_grey_and_archived_rows_are_hidden_by_default(client_for, msp_admin, msp_org):
    cancelled = CustomerAccountFactory(organization=msp_org, status="cancelled")
    archived = CustomerAccountFactory(organization=msp_org, status="withdrawn", archived_at="2026-01-01T00:00:00Z")
    client = client_for(msp_admin)
    body = client.get(url("list")).content.decode()
    assert f'id="customer-{cancelled.pk}"' in body
    assert 'class="row-cancelled' in body
    assert archived.account_code not in body
    assert archived.account_code in client.get(url("list"), {"archived": "only"}).content.decode()
    assert cancelled.account_code not in client.get(url("list"), {"archived": "only"}).content.decode()


def test_filters_and_search_narrow_the_list(client_for, msp_admin, msp_org, support_org):
    sakura = CustomerAccountFactory(
        organization=msp_org, company_name="株式会社さくら", company_name_kana="サクラ", support_account=support_org
    )
    pending = CustomerAccountFactory(organization=msp_org, status="pending_approval")
    scheduled = CustomerAccountFactory(organization=msp_org, cancellation_date="2030-01-31")
    client = client_for(msp_admin)

    def codes(**params):
        body = client.get(url("list"), params).content.decode()
        return {c.account_code for c in (sakura, pending, scheduled) if c.account_code in body}

    assert codes(q="ｻｸﾗ") == {sakura.account_code}
    assert codes(status="pending_approval") == {pending.account_code}
    assert codes(support_account=str(support_org.pk)) == {sakura.account_code}
    assert codes(support_account="none") == {pending.account_code, scheduled.account_code}
    assert codes(cancellation_scheduled="yes") == {scheduled.account_code}
    # A forged support account id is not a choice: the filter is ignored, nothing leaks.
    foreign = OrganizationFactory(kind="support", parent=OrganizationFactory())
    assert codes(support_account=str(foreign.pk)) == {sakura.account_code, pending.account_code, scheduled.account_code}


def test_every_column_sorts_and_the_state_stays_in_the_url(client_for, msp_admin, msp_org):
    small = CustomerAccountFactory(organization=msp_org, contracted_users=5)
    large = CustomerAccountFactory(organization=msp_org, contracted_users=500)
    client = client_for(msp_admin)
    for column in (
        "account",
        "status",
        "contracted_users",
        "cancellation_date",
        "support_account",
        "reseller_name",
        "registered_at",
    ):
        for sort in (column, f"-{column}"):
            assert client.get(url("list"), {"sort": sort, "q": "", "per_page": 50}).status_code == 200
    body = client.get(url("list"), {"sort": "-contracted_users"}).content.decode()
    assert body.index(large.account_code) < body.index(small.account_code)
    body = client.get(url("list"), {"sort": "contracted_users"}).content.decode()
    assert body.index(small.account_code) < body.index(large.account_code)


def test_pages_are_read_without_counting(client_for, msp_admin, msp_org):
    CustomerAccountFactory.create_batch(30, organization=msp_org)
    client = client_for(msp_admin)
    first = client.get(url("list"), {"per_page": 25}).content.decode()
    assert 'rel="next"' in first
    second = client.get(url("list"), {"per_page": 25, "page": 2}).content.decode()
    assert 'rel="next"' not in second and 'rel="prev"' in second
    assert client.get(url("list"), {"page": "999"}).status_code == 200
    assert client.get(url("list"), {"page": "abc", "per_page": "7"}).status_code == 200


def test_paging_stops_at_the_reachable_depth_with_a_message(client_for, msp_admin, msp_org, monkeypatch):
    from customers import listing

    monkeypatch.setattr(listing, "MAX_PAGED_ROWS", 50)
    CustomerAccountFactory.create_batch(60, organization=msp_org)
    client = client_for(msp_admin)
    second = client.get(url("list"), {"per_page": 25, "page": 2}).content.decode()
    assert 'rel="next"' not in second and 'rel="prev"' in second
    assert "ページ送りは一覧の先頭 50 件までです" in second
    deep = client.get(url("list"), {"per_page": 25, "page": 2000}).content.decode()
    assert deep.count('data-testid="customer-link"') == 25
    assert 'rel="next"' not in deep and "ページ送りは一覧の先頭 50 件までです" in deep
    first = client.get(url("list"), {"per_page": 25}).content.decode()
    assert 'rel="next"' in first and "ページ送り" not in first


@pytest.mark.parametrize("sort", ["", "-estimated_balance", "points_balance", "company_name"])
def test_a_later_page_holds_exactly_the_rows_that_follow_in_the_lists_order(
    client_for, msp_admin, msp_org, sort, settings
):
    settings.PORTAL_PAGE_SIZES = [5, 25]
    # Later pages are read by their ids first (late row look-up): the rows and their order must be
    # those of the whole list, points included.
    for index in range(12):
        CustomerAccountFactory(
            organization=msp_org,
            company_name=f"会社{index:02d}",
            points_balance=(index * 7) % 5,
            estimated_balance=(index * 5) % 4 - 2,
        )
    CustomerAccountFactory(organization=OrganizationFactory(kind="msp"))  # another MSP's: never listed
    client = client_for(msp_admin)
    params = {"per_page": 5, "sort": sort} if sort else {"per_page": 5}
    pages = [client.get(url("list"), params | {"page": page}).content.decode() for page in (1, 2, 3)]
    links = [re.findall(r'data-testid="customer-link"><span[^>]*>([^<]+)<', page) for page in pages]
    points = [re.findall(r'data-testid="points-balance">(-?\d+)<', page) for page in pages]
    everything = client.get(url("list"), params | {"per_page": 25}).content.decode()
    assert [name for page in links for name in page] == re.findall(
        r'data-testid="customer-link"><span[^>]*>([^<]+)<', everything
    )
    assert [value for page in points for value in page] == re.findall(
        r'data-testid="points-balance">(-?\d+)<', everything
    )
    assert [len(page) for page in links] == [5, 5, 2]


def test_the_list_runs_the_same_queries_at_two_page_sizes(client_for, msp_admin, msp_org, support_org):
    CustomerAccountFactory.create_batch(60, organization=msp_org, support_account=support_org)
    client = client_for(msp_admin)
    counts = []
    for per_page in (25, 50):
        with CaptureQueriesContext(connection) as context:
            response = client.get(url("list"), {"per_page": per_page, "sort": "-support_account"})
        assert response.status_code == 200
        assert response.content.decode().count('data-testid="customer-link"') == per_page
        # One count, bounded (「N件」 up to COUNT_LIMIT): never a COUNT over every row.
        count_queries = [q["sql"] for q in context.captured_queries if "COUNT(" in q["sql"].upper()]
        assert len(count_queries) == 1 and f"LIMIT {listing.COUNT_LIMIT + 1}" in count_queries[0]
        counts.append(len(context.captured_queries))
    assert counts[0] == counts[1]
    assert counts[0] <= 10


class _Rows:
    """A list of `rows` rows as far as bounded_count reads it: which slice, and its count."""

    def __init__(self, rows: int):
        self.rows, self.sliced, self.ordered = rows, None, None

    def order_by(self, *fields):
        self.ordered = fields
        return self

    def values(self, *fields):
        return self

    def __getitem__(self, key):
        self.sliced = key
        return self

    def count(self):
        return min(self.rows, self.sliced.stop)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (0, (0, False)),
        (9_999, (9_999, False)),
        (10_000, (10_000, False)),
        (10_001, (10_000, True)),
        (10**6, (10_000, True)),
    ],
)
def test_the_count_is_exact_up_to_ten_thousand_and_reads_one_row_more(rows, expected):
    queryset = _Rows(rows)
    count = listing.bounded_count(queryset)
    assert (count.value, count.more) == expected
    assert queryset.sliced == slice(None, 10_001)
    # In id order, which every scope has an index for (not the list's own order).
    assert queryset.ordered == ("-pk",)


@pytest.mark.parametrize(("rows", "text"), [(2, "2件"), (3, "3件"), (4, "3件以上")])
def test_the_list_says_how_many_accounts_match_its_filter(client_for, msp_admin, msp_org, monkeypatch, rows, text):
    monkeypatch.setattr(listing, "COUNT_LIMIT", 3)
    CustomerAccountFactory.create_batch(rows, organization=msp_org, company_name="青葉")
    CustomerAccountFactory.create_batch(2, organization=msp_org, company_name="若葉")
    CustomerAccountFactory(organization=OrganizationFactory(kind="msp"), company_name="青葉")  # another MSP's
    body = client_for(msp_admin).get(url("list"), {"q": "青葉"}).content.decode()
    shown = re.search(r'data-testid="list-count"[^>]*>(.*?)</span>\s*(件以上|件)', body, re.S)
    assert re.sub(r"<[^>]+>", "", shown.group(1)) + shown.group(2) == text


def test_the_list_count_reads_in_english_with_thousands_separators(client_for, msp_admin, msp_org, monkeypatch):
    monkeypatch.setattr(listing, "bounded_count", lambda queryset: listing.BoundedCount(10_000, True))
    client = client_for(msp_admin)
    client.cookies["portal_language"] = "en"
    body = re.sub(r"<[^>]+>", "", client.get(url("list")).content.decode())
    assert "10,000 or more accounts" in body
    monkeypatch.setattr(listing, "bounded_count", lambda queryset: listing.BoundedCount(9_999, False))
    body = re.sub(r"<[^>]+>", "", client.get(url("list")).content.decode())
    assert "9,999 accounts" in body


def test_bulk_selection_appears_only_when_an_action_exists(client_for, msp_admin, customer, monkeypatch):
    client = client_for(msp_admin)
    monkeypatch.setattr(bulk_actions, "BULK_ACTIONS", [])
    body = client.get(url("list")).content.decode()
    assert 'name="ids"' not in body and "選択実行" not in body
    monkeypatch.setattr(
        bulk_actions,
        "BULK_ACTIONS",
        [bulk_actions.BulkAction("test", "テスト操作", "customers:pending", Cap.CUSTOMERS_EDIT)],
    )
    body = client.get(url("list")).content.decode()
    assert f'name="ids" value="{customer.pk}"' in body and "選択実行" in body and "テスト操作" in body


def _header_names(body: str) -> list[str]:
    """The list's columns as its header shows them: the sort parameter of each sortable column,
    `selection` for the checkbox column, `actions` for the one headed 操作."""
    thead = re.search(r"<thead.*?</thead>", body, re.S).group(0)
    names = []
    for attrs, content in re.findall(r"<th(\s[^>]*)?>(.*?)</th>", thead, re.S):
        sort = re.search(r"sort=(\w+)", content)
        names.append(sort.group(1) if sort else "selection" if "col-select" in attrs else "actions")
    return names


def _row(body: str, customer) -> str:
    return re.search(rf'<tr id="customer-{customer.pk}".*?</tr>', body, re.S).group(0)


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


@pytest.mark.parametrize(
    ("persona", "shows_organization", "can_edit"),
    [
        ("operator_user", True, True),
        ("pmsp_admin", True, True),
        ("msp_admin", False, True),
        ("msp_viewer", False, False),
    ],
)
def test_each_cell_of_a_row_sits_under_its_column_header(
    request, client_for, msp_org, support_org, persona, shows_organization, can_edit
):
    customer = CustomerAccountFactory(
        organization=msp_org,
        support_account=support_org,
        reseller_name="青葉販売",
        registered_at=dt.datetime(2026, 4, 1, 9, 30, tzinfo=dt.UTC),
    )
    body = client_for(request.getfixturevalue(persona)).get(url("list")).content.decode()
    names = _header_names(body)
    assert ("organization" in names) is shows_organization
    expected = {
        "selection": f'name="ids" value="{customer.pk}"',
        "account": 'data-testid="customer-link"',
        "status": 'data-status="active"',
        "contracted_users": 'data-testid="contracted-users"',
        "points_balance": 'data-testid="points-balance"',
        "estimated_balance": 'data-testid="points-estimate"',
        "cancellation_date": 'data-testid="cancellation-date"',
        "support_account": support_org.name,
        "reseller_name": "青葉販売",
        "organization": msp_org.name,
        "registered_at": '2026/04/01<span class="d-block text-body-secondary">18:30</span>',
    }
    cells = _cells(_row(body, customer))
    assert len(cells) == len(names)
    for name, cell in zip(names, cells, strict=True):
        if name == "actions":
            assert ('data-testid="edit"' in cell) is can_edit
            assert cell == "" or can_edit
        else:
            assert expected[name] in cell, name


ROW_BUTTONS = ("contract-change", "points-change", "cancellation-date-set", "edit", "archive", "unarchive", "cancel")
ALL_ACTIVE_BUTTONS = {"contract-change", "points-change", "cancellation-date-set", "edit", "cancel"}


@pytest.mark.parametrize(
    ("persona", "status", "archived", "buttons"),
    [
        ("msp_admin", "active", False, ALL_ACTIVE_BUTTONS),
        # Points move only where they can be charged or settled (customers.lifecycle.POINTS_STATUSES).
        ("msp_admin", "pending_approval", False, {"contract-change", "edit", "cancel"}),
        ("msp_admin", "rejected", False, {"contract-change", "edit", "archive", "cancel"}),
        ("msp_admin", "provisioning", False, {"contract-change", "points-change", "edit"}),
        ("msp_admin", "provisioning_failed", False, {"contract-change", "points-change", "edit"}),
        ("msp_admin", "cancelled", False, {"archive"}),
        ("msp_admin", "withdrawn", True, {"unarchive"}),
        ("msp_sales", "active", False, {"contract-change", "edit"}),
        ("msp_billing", "active", False, {"points-change", "cancellation-date-set", "cancel"}),
        ("msp_viewer", "active", False, set()),
        ("operator_user", "active", False, ALL_ACTIVE_BUTTONS),
        ("operator_viewer", "cancelled", False, set()),
    ],
)
def test_a_rows_buttons_follow_the_users_role_and_the_accounts_status(
    request, client_for, msp_org, persona, status, archived, buttons
):
    customer = CustomerAccountFactory(organization=msp_org, status=status)
    if archived:
        CustomerAccount.objects.with_points().filter(pk=customer.pk).update(
            archived_at=dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
        )
    body = client_for(request.getfixturevalue(persona)).get(url("list"), {"archived": "include"}).content.decode()
    row = _row(body, customer)
    assert {name for name in ROW_BUTTONS if f'data-testid="{name}"' in row} == buttons


def test_a_row_refreshed_after_a_popup_is_the_row_the_list_shows(client_for, msp_admin, customer, support_org):
    client = client_for(msp_admin)
    refreshed = client.post(
        url("contract", customer), {"contracted_users": "1200", "from": "list"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    listed = client.get(url("list")).content.decode()

    def comparable(row: str) -> str:
        # Only the popup's answer swaps out of band; each page adds its own return address.
        return re.sub(r"\?next=[^\"]*", "?next=…", row.replace(' hx-swap-oob="true"', ""))

    assert 'hx-swap-oob="true"' in _row(refreshed, customer)
    assert comparable(_row(refreshed, customer)) == comparable(_row(listed, customer))
    assert "1,200" in _row(listed, customer)


# --- registration ----------------------------------------------------------------------------


def test_registration_lands_in_the_pending_list(client_for, msp_admin):
    client = client_for(msp_admin)
    assert "基本情報登録" in client.get(url("register")).content.decode()
    response = client.post(url("register"), REGISTRATION)
    assert response.status_code == 302 and response["Location"] == url("pending")
    customer = CustomerAccount.objects.with_points().get(account_code="aoba-foods")
    assert customer.organization == msp_admin.organization
    body = client.get(url("pending")).content.decode()
    assert "aoba-foods" in body and "承認待ちアカウント一覧" in body


def test_registration_under_htmx_closes_the_popup_by_redirect(client_for, msp_admin):
    response = client_for(msp_admin).post(url("register"), REGISTRATION, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"] == url("pending")


def test_registration_rejects_a_wrong_method(client_for, msp_admin):
    assert client_for(msp_admin).put(url("register")).status_code == 405


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("account_code", "AB", "3〜40文字"),
        ("account_code", "has space", "3〜40文字"),
        ("account_code", "日本語", "3〜40文字"),
        ("email_domain", "user@example.jp", "「@」"),
        ("email_domain", "exa mple.jp", "スペース"),
        ("email_domain", "localhost", "example.co.jp"),
        ("contracted_users", "0", "1以上"),
        ("contracted_users", "-5", "1以上"),
        ("contracted_users", "1000001", "1,000,000以下"),
        ("contracted_users", "十", "整数"),
        ("contracted_users", "", "契約ユーザ数を入力してください"),
        ("company_name", "   ", "会社名を入力してください"),
        ("email_domain", "", "メールドメインを入力してください"),
        ("contact_email", "not-an-email", "メールアドレス"),
    ],
)
def test_registration_explains_bad_input_and_saves_nothing(client_for, msp_admin, field, value, message):
    response = client_for(msp_admin).post(url("register"), REGISTRATION | {field: value}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body, body[body.find("invalid-feedback") - 200 : body.find("invalid-feedback") + 400]
    assert not CustomerAccount.objects.exists()


def test_registration_refuses_a_duplicate_code(client_for, msp_admin, customer):
    response = client_for(msp_admin).post(url("register"), REGISTRATION | {"account_code": customer.account_code})
    assert "このアカウントコードは既に使われています" in response.content.decode()
    assert CustomerAccount.objects.count() == 1


def test_registration_normalises_full_width_input(client_for, msp_admin):
    client_for(msp_admin).post(
        url("register"), REGISTRATION | {"account_code": "ＡＯＢＡ－１", "email_domain": "ＡＯＢＡ.example.jp"}
    )
    customer = CustomerAccount.objects.with_points().get()
    assert (customer.account_code, customer.email_domain) == ("aoba-1", "aoba.example.jp")


def test_a_privileged_msp_cannot_register_for_an_msp_outside_its_tree(client_for, pmsp_admin, other_msp_org):
    response = client_for(pmsp_admin).post(url("register"), REGISTRATION | {"organization": other_msp_org.pk})
    assert response.status_code == 200
    assert not CustomerAccount.objects.exists()


@pytest.mark.parametrize("persona", ["msp_viewer", "msp_billing", "support_user", "operator_viewer"])
def test_read_only_roles_cannot_register(client_for, request, persona):
    user = request.getfixturevalue(persona)
    assert client_for(user).post(url("register"), REGISTRATION).status_code == 403
    assert not CustomerAccount.objects.exists()


# --- approval queue ------------------------------------------------------------------------------


@pytest.fixture
def application(msp_org, msp_admin):
    return CustomerAccountFactory(organization=msp_org, status="pending_approval", registered_by=msp_admin)


def test_the_operator_approves_and_the_account_becomes_active(
    client_for, operator_user, application, django_capture_on_commit_callbacks
):
    client = client_for(operator_user)
    assert application.account_code in client.get(url("pending")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("approve", application))
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == "active"


def test_the_operator_returns_an_application_with_a_reason(client_for, operator_user, application):
    client = client_for(operator_user)
    response = client.post(url("reject", application), {"reason": ""})
    assert "差戻しの理由を入力してください" in response.content.decode()
    application.refresh_from_db()
    assert application.status == "pending_approval"
    client.post(url("reject", application), {"reason": "<b>住所</b>を確認してください"})
    application.refresh_from_db()
    assert application.status == "rejected"


def test_the_msp_corrects_and_resubmits_a_returned_application(client_for, msp_admin, operator_user, application):
    client_for(operator_user).post(url("reject", application), {"reason": "会社名を正式名称に"})
    client = client_for(msp_admin)
    page = client.get(url("pending")).content.decode()
    assert "会社名を正式名称に" in page
    form = client.get(url("resubmit", application)).content.decode()
    assert "会社名を正式名称に" in form
    data = {
        "account_code": application.account_code,
        "company_name": "株式会社あおば 正式名称",
        "email_domain": application.email_domain,
        "contracted_users": "20",
    }
    assert client.post(url("resubmit", application), data).status_code == 302
    application.refresh_from_db()
    assert (application.status, application.company_name) == ("pending_approval", "株式会社あおば 正式名称")


def test_the_msp_withdraws_its_application(client_for, msp_admin, application):
    client_for(msp_admin).post(url("withdraw", application), {"reason": "不要"})
    application.refresh_from_db()
    assert application.status == "withdrawn"


def test_a_failed_provisioning_shows_its_error_and_the_operator_retries(
    client_for, operator_user, msp_org, django_capture_on_commit_callbacks
):
    failed = CustomerAccountFactory(
        organization=msp_org, status="provisioning_failed", provisioning_error="tenant service timed out"
    )
    client = client_for(operator_user)
    body = client.get(url("pending")).content.decode()
    assert "tenant service timed out" in body and url("retry_provisioning", failed) in body
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("retry_provisioning", failed))
    failed.refresh_from_db()
    assert failed.status == "active"


@pytest.mark.parametrize("name", ["approve", "reject", "retry_provisioning"])
@pytest.mark.parametrize("persona", ["msp_admin", "pmsp_admin", "operator_viewer"])
def test_only_operator_admins_approve_reject_or_retry(client_for, request, application, name, persona):
    user = request.getfixturevalue(persona)
    response = client_for(user).post(url(name, application), {"reason": "x"})
    assert response.status_code == 403
    application.refresh_from_db()
    assert application.status == "pending_approval"


def test_a_second_approval_is_refused_with_a_message(client_for, operator_user, application):
    client = client_for(operator_user)
    client.post(url("approve", application))
    response = client.post(url("approve", application), follow=True)
    assert "その操作はできません" in response.content.decode()
    assert application.status_changes.filter(to_status="provisioning").count() == 1


# --- access for every customer view ----------------------------------------------------------

CUSTOMER_VIEWS = [
    ("detail", "get"),
    ("edit", "post"),
    ("edit_reseller", "post"),
    ("edit_support", "post"),
    ("edit_screen", "post"),
    ("contract", "post"),
    ("approve", "post"),
    ("reject", "post"),
    ("resubmit", "post"),
    ("withdraw", "post"),
    ("retry_provisioning", "post"),
    ("archive", "post"),
    ("unarchive", "post"),
]
MUTATIONS = [name for name, method in CUSTOMER_VIEWS if method == "post"]


OPERATOR_ONLY = {"approve", "reject", "retry_provisioning"}


@pytest.mark.parametrize(("name", "method"), [view for view in CUSTOMER_VIEWS if view[0] not in OPERATOR_ONLY])
def test_another_msps_customer_answers_404(client_for, other_msp_admin, customer, name, method):
    response = getattr(client_for(other_msp_admin), method)(url(name, customer), {"contracted_users": "99"})
    assert response.status_code == 404
    customer.refresh_from_db()
    assert customer.contracted_users == 20


@pytest.mark.parametrize("name", sorted(OPERATOR_ONLY))
def test_operator_only_actions_answer_403_to_the_msp_and_404_to_everyone_else(
    client_for, msp_admin, other_msp_admin, customer, name
):
    assert client_for(msp_admin).post(url(name, customer), {"reason": "x"}).status_code == 403
    # Another MSP's account, or none at all: not found, whatever the role (DESIGN.md §2).
    client = client_for(other_msp_admin)
    assert client.post(url(name, customer), {"reason": "x"}).status_code == 404
    assert client.post(reverse(f"customers:{name}", args=[999999]), {"reason": "x"}).status_code == 404
    customer.refresh_from_db()
    assert customer.status == "active"


@pytest.mark.parametrize("name", MUTATIONS)
@pytest.mark.parametrize("persona", ["msp_viewer", "support_user"])
def test_read_only_and_support_staff_get_403_and_nothing_changes(
    client_for, request, msp_org, support_org, name, persona
):
    user = request.getfixturevalue(persona)
    target = CustomerAccountFactory(organization=msp_org, support_account=support_org, status="cancelled")
    before = AuditEvent.objects.count()
    response = client_for(user).post(
        url(name, target), {"contracted_users": "99", "company_name": "改ざん", "support_account": ""}
    )
    assert response.status_code == 403
    target.refresh_from_db()
    assert (target.contracted_users, target.archived_at, target.support_account) == (20, None, support_org)
    assert AuditEvent.objects.count() == before


def test_support_staff_read_the_detail_of_an_assigned_customer_without_buttons(
    client_for, support_user, support_org, msp_org
):
    target = CustomerAccountFactory(organization=msp_org, support_account=support_org)
    body = client_for(support_user).get(url("detail", target)).content.decode()
    assert target.company_name in body
    assert url("edit", target) not in body and url("contract", target) not in body


# --- editing --------------------------------------------------------------------------------------


def test_the_contract_popup_from_the_list_refreshes_the_row(client_for, msp_admin, customer):
    client = client_for(msp_admin)
    assert "契約ユーザ数更新" in client.get(url("contract", customer), {"from": "list"}).content.decode()
    response = client.post(
        url("contract", customer), {"contracted_users": "1,200", "from": "list"}, HTTP_HX_REQUEST="true"
    )
    assert "整数" in response.content.decode()
    response = client.post(
        url("contract", customer), {"contracted_users": "1200", "from": "list"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response["HX-Trigger"] == "portal:close-modal"
    assert f'id="customer-{customer.pk}"' in body and 'hx-swap-oob="true"' in body and "1,200" in body
    assert 'data-testid="contract-change"' in body
    assert "&lt;script&gt;" in body
    assert list(ContractChange.objects.filter(customer=customer).values_list("new_users", flat=True)) == [1200]


@pytest.mark.parametrize("value", ["0", "-1", "1000001", "abc", "", "20"])
def test_the_contract_popup_refuses_bad_numbers(client_for, msp_admin, customer, value):
    response = client_for(msp_admin).post(url("contract", customer), {"contracted_users": value})
    assert response.status_code == 200
    assert "invalid-feedback" in response.content.decode()
    customer.refresh_from_db()
    assert customer.contracted_users == 20
    assert not ContractChange.objects.exists()


def test_the_edit_tabs_save_basic_and_reseller_info(client_for, msp_sales, customer):
    client = client_for(msp_sales)
    body = client.get(url("edit", customer)).content.decode()
    for tab in ("基本情報", "販売店情報", "サポート", "画面のカスタマイズ"):
        assert tab in body
    data = {"account_code": "ignored-change", "company_name": "新社名株式会社", "email_domain": "new.example.jp"}
    assert client.post(url("edit", customer), data).status_code == 302
    client.post(url("edit_reseller", customer), {"reseller_name": "販売店A", "reseller_contact_email": "a@b.jp"})
    customer.refresh_from_db()
    assert customer.company_name == "新社名株式会社"
    assert customer.account_code != "ignored-change"
    assert customer.reseller_name == "販売店A"


def test_a_support_account_of_another_msp_is_refused(client_for, msp_admin, customer, other_msp_org):
    foreign = OrganizationFactory(kind="support", parent=other_msp_org)
    response = client_for(msp_admin).post(url("edit_support", customer), {"support_account": foreign.pk})
    assert "このMSPのサポートアカウントから選択してください" in response.content.decode()
    customer.refresh_from_db()
    assert customer.support_account is None


def test_assigning_a_support_account_and_hiding_menus(client_for, msp_admin, customer, support_org):
    client = client_for(msp_admin)
    client.post(url("edit_support", customer), {"support_account": support_org.pk})
    client.post(url("edit_screen", customer), {"visible_menus": ["basic_info", "users"]})
    customer.refresh_from_db()
    assert customer.support_account == support_org
    assert customer.hidden_menus == ["admins", "user_bulk"]
    response = client.post(url("edit_screen", customer), {"visible_menus": ["billing"]})
    assert "invalid-feedback" in response.content.decode()
    detail = client.get(url("detail", customer)).content.decode()
    assert support_org.name in detail and 'data-menu="admins"' in detail


def test_archiving_and_unarchiving_a_cancelled_account(client_for, msp_admin, msp_org):
    cancelled = CustomerAccountFactory(organization=msp_org, status="cancelled")
    active = CustomerAccountFactory(organization=msp_org, status="active")
    client = client_for(msp_admin)
    client.post(url("archive", cancelled))
    response = client.post(url("archive", active), follow=True)
    assert "解約済み、取下げ、差戻し、統合済みのアカウントのみアーカイブできます" in response.content.decode()
    cancelled.refresh_from_db()
    active.refresh_from_db()
    assert cancelled.archived_at is not None and active.archived_at is None
    client.post(url("unarchive", cancelled))
    cancelled.refresh_from_db()
    assert cancelled.archived_at is None


def test_the_detail_page_shows_timeline_contract_history_and_audit_trail(client_for, msp_admin):
    client = client_for(msp_admin)
    client.post(url("register"), REGISTRATION | {"company_name": "<img src=x onerror=alert(1)>"})
    customer = CustomerAccount.objects.with_points().get()
    client.post(url("contract", customer), {"contracted_users": "45"})
    body = client.get(url("detail", customer)).content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;" in body and "<img src=x" not in body
    assert "ステータス履歴" in body and "契約履歴" in body and "監査ログ" in body
    assert "customer.contract_change" in body and "45" in body


def test_the_audit_trail_is_hidden_from_roles_without_audit_access(client_for, msp_sales, customer):
    assert "監査ログ" not in client_for(msp_sales).get(url("detail", customer)).content.decode()


def test_the_navigation_links_both_pages(client_for, msp_viewer):
    body = client_for(msp_viewer).get(reverse("dashboard")).content.decode()
    assert url("list") in body and url("pending") in body


def test_the_filter_selects_offer_every_choice_and_keep_the_chosen_one(client_for, pmsp_admin, customer):
    body = client_for(pmsp_admin).get(url("list"), {"organization": customer.organization_id, "status": "active"})
    html = body.content.decode()
    organization_select = re.search(r'<select name="organization" id="id_organization"[^>]*>(.*?)</select>', html)
    assert organization_select is not None
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', organization_select.group(1))
    assert [value for value, selected, _label in options if selected] == [str(customer.organization_id)]
    assert (str(customer.organization_id), " selected", customer.organization.name) in options
    status_select = re.search(r'<select name="status" id="id_status"[^>]*>(.*?)</select>', html).group(1)
    assert re.findall(r'<option value="([^"]*)" selected>', status_select) == ["active"]


def test_a_suspended_account_shows_the_flag_in_the_list_and_on_its_page(client_for, msp_admin, msp_org):
    suspended = CustomerAccountFactory(
        organization=msp_org, status="active", suspended_at=dt.datetime(2026, 11, 20, 16, 0, tzinfo=dt.UTC)
    )
    running = CustomerAccountFactory(organization=msp_org, status="active")
    client = client_for(msp_admin)
    body = client.get(url("list")).content.decode()
    rows = {
        pk: re.search(rf'<tr[^>]*id="customer-{pk}".*?</tr>', body, re.S).group(0) for pk in (suspended.pk, running.pk)
    }
    # 2026-11-20 16:00 UTC is the 21st in Tokyo.
    assert 'data-testid="suspended-badge" title="2026/11/21 から利用停止">利用停止</span>' in rows[suspended.pk]
    assert "suspended-badge" not in rows[running.pk]
    assert 'data-testid="suspended-badge"' in client.get(url("detail", suspended)).content.decode()


def test_the_shortage_filter_names_the_wallets_msp_only_where_the_list_is_scoped_to_msps(
    operator_user, msp_admin, msp_org
):
    # Over every MSP the extra join condition names no MSP and only skews PostgreSQL's row
    # estimate (the bounded count then hash-joined both tables whole); scoped, it lets the
    # wallet's MSP-led index serve the filter.
    from django.http import QueryDict

    states_msp = '"msp_id" = ("accounts_customeraccount"."organization_id")'
    cases = [(operator_user, "shortage=yes", False), (operator_user, f"shortage=yes&organization={msp_org.pk}", True)]
    for user, params, scoped in [*cases, (msp_admin, "shortage=yes", True)]:
        filterset, _table = listing.customer_list_table(user, QueryDict(params))
        assert (states_msp in str(filterset.qs.query)) is scoped, (user, params)
