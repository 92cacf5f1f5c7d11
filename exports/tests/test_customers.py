"""The customer list's exports: exactly the list as the user sees it."""

import csv
import datetime as dt
import io
import re

import openpyxl
import pytest
import time_machine
from django.urls import reverse

from accounts.tests.factories import OrganizationFactory, UserFactory
from audit.models import AuditEvent
from customers.listing import customer_list_table
from customers.tests.factories import CustomerAccountFactory
from exports.customers import NOT_EXPORTED, customer_export_columns
from exports.models import ExportJob, ExportStatus
from msp_portal import dates
from msp_portal.permissions import OrganizationKind

pytestmark = pytest.mark.django_db

REGISTERED = dt.datetime(2025, 3, 31, 15, 30, tzinfo=dt.UTC)  # 2025-04-01 00:30 in Tokyo
# Every export below is made on this day; its estimate column is labelled with the next 25th.
TODAY = dt.datetime(2026, 11, 10, 12, tzinfo=dates.TOKYO)
HEADERS_JA = [
    "アカウントコード",
    "会社名",
    "状態",
    "契約ユーザ数",
    "現在のポイント",
    "11/25の推定残ポイント数",
    "解約予定日",
    "サポートアカウント",
    "販売店",
    "登録日時",
]


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(TODAY, tick=False):
        yield


def url(name):
    return reverse(f"customers:{name}")


def read_csv(response, encoding="utf-8-sig"):
    data = b"".join(response.streaming_content)
    return list(csv.reader(io.StringIO(data.decode(encoding), newline="")))


def read_xlsx(response):
    return openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active


def list_codes(client, query):
    """The account codes in the order the list page shows them."""
    body = client.get(url("list") + "?" + query + "&per_page=200").content.decode()
    return re.findall(r'data-testid="customer-link"><span[^>]*>([^<]+)</span>', body)


@pytest.fixture
def customers(msp_org, support_org, other_msp_org):
    made = [
        CustomerAccountFactory(
            organization=msp_org,
            account_code="aoba-01",
            company_name="あおば商事😀",
            contracted_users=120,
            points_balance=250,
            estimated_balance=-30,
            cancellation_date=dt.date(2026, 3, 31),
            support_account=support_org,
            reseller_name='=HYPERLINK("x")',
            registered_at=REGISTERED,
        ),
        CustomerAccountFactory(
            organization=msp_org,
            account_code="beta-02",
            company_name="-2",
            status="pending_approval",
            contracted_users=15,
            registered_at=REGISTERED + dt.timedelta(days=1),
        ),
        CustomerAccountFactory(
            organization=msp_org,
            account_code="chiba-03",
            company_name="+cmd",
            contracted_users=40,
            registered_at=REGISTERED + dt.timedelta(days=2),
        ),
        CustomerAccountFactory(
            organization=msp_org,
            account_code="delta-04",
            company_name="@SUM(A1)",
            status="cancelled",
            contracted_users=70,
            registered_at=REGISTERED + dt.timedelta(days=3),
        ),
    ]
    CustomerAccountFactory(organization=other_msp_org, account_code="other-99", company_name="他社の顧客")
    return made


def test_the_csv_is_the_list_with_its_headers_values_and_default_order(client_for, msp_admin, customers):
    rows = read_csv(client_for(msp_admin).get(reverse("exports:customers_csv")))
    assert rows[0] == HEADERS_JA
    assert [row[0] for row in rows[1:]] == ["delta-04", "chiba-03", "beta-02", "aoba-01"]
    assert rows[4] == [
        "aoba-01",
        "あおば商事😀",
        "利用中",
        "120",
        "250",
        "-30",
        "2026-03-31",
        "子MSPサポート",
        '\'=HYPERLINK("x")',
        "2025-04-01 00:30:00",
    ]
    assert [row[1] for row in rows[1:4]] == ["'@SUM(A1)", "'+cmd", "'-2"]


@pytest.mark.parametrize(
    "query",
    ["sort=contracted_users", "sort=-contracted_users", "status=active&sort=account", "q=商事", "sort=-status"],
)
def test_a_filtered_sorted_view_exports_the_rows_the_list_shows_in_its_order(client_for, msp_admin, customers, query):
    client = client_for(msp_admin)
    shown = list_codes(client, query)
    assert shown
    rows = read_csv(client.get(reverse("exports:customers_csv") + "?" + query))
    assert [row[0] for row in rows[1:]] == shown
    sheet = read_xlsx(client.get(reverse("exports:customers_xlsx") + "?" + query))
    assert [cell.value for cell in sheet["A"]][1:] == shown


def test_the_excel_file_has_the_same_headers_values_and_types(client_for, msp_admin, customers):
    sheet = read_xlsx(client_for(msp_admin).get(reverse("exports:customers_xlsx") + "?sort=account"))
    assert [cell.value for cell in sheet[1]] == HEADERS_JA
    first = [cell.value for cell in sheet[2]]
    assert first == [
        "aoba-01",
        "あおば商事😀",
        "利用中",
        120,
        250,
        -30,
        dt.datetime(2026, 3, 31),
        "子MSPサポート",
        '=HYPERLINK("x")',
        dt.datetime(2025, 4, 1, 0, 30),
    ]
    assert sheet["I2"].data_type == "s"
    assert sheet["D2"].data_type == "n"
    assert sheet["F2"].data_type == "n"
    assert sheet.freeze_panes == "A2"
    assert [sheet[f"B{row}"].value for row in range(3, 6)] == ["-2", "+cmd", "@SUM(A1)"]


def test_headers_are_english_for_an_english_user(client_for, msp_admin, customers):
    client = client_for(msp_admin)
    client.cookies["portal_language"] = "en"
    rows = read_csv(client.get(reverse("exports:customers_csv")))
    assert rows[0][:4] == ["account code", "company name", "Status", "Contracted users"]
    assert rows[4][2] == "Active"


def test_cp932_keeps_japanese_and_turns_emoji_into_question_marks(client_for, msp_admin, customers):
    rows = read_csv(
        client_for(msp_admin).get(reverse("exports:customers_csv") + "?encoding=cp932&sort=account"), "cp932"
    )
    assert rows[0] == HEADERS_JA
    assert rows[1][1] == "あおば商事?"


def test_archived_accounts_stay_out_unless_the_view_includes_them(client_for, msp_admin, customers):
    archived = CustomerAccountFactory(
        organization=customers[0].organization, account_code="zeta-archived", archived_at=REGISTERED
    )
    client = client_for(msp_admin)
    assert archived.account_code not in [row[0] for row in read_csv(client.get(reverse("exports:customers_csv")))]
    rows = read_csv(client.get(reverse("exports:customers_csv") + "?archived=include"))
    assert archived.account_code in [row[0] for row in rows]


def test_other_msps_rows_never_appear(client_for, msp_admin, other_msp_admin, customers):
    codes = [row[0] for row in read_csv(client_for(msp_admin).get(reverse("exports:customers_csv")))[1:]]
    assert "other-99" not in codes
    codes = [row[0] for row in read_csv(client_for(other_msp_admin).get(reverse("exports:customers_csv")))[1:]]
    assert codes == ["other-99"]


def test_support_staff_export_only_their_assigned_customers(client_for, support_user, customers):
    rows = read_csv(client_for(support_user).get(reverse("exports:customers_csv")))
    assert [row[0] for row in rows[1:]] == ["aoba-01"]
    sheet = read_xlsx(client_for(support_user).get(reverse("exports:customers_xlsx")))
    assert [cell.value for cell in sheet["A"]][1:] == ["aoba-01"]


def test_a_privileged_msp_exports_its_childrens_customers_with_the_msp_column(client_for, pmsp_admin, customers):
    rows = read_csv(client_for(pmsp_admin).get(reverse("exports:customers_csv") + "?sort=account"))
    assert "MSP" in rows[0]
    assert rows[1][rows[0].index("MSP")] == "子MSP株式会社"
    assert "other-99" not in [row[0] for row in rows]


@pytest.mark.parametrize("persona", ["operator_user", "pmsp_admin", "msp_admin", "msp_viewer", "support_user"])
def test_every_data_column_the_list_shows_is_exported(persona, request, customers):
    from django.http import QueryDict

    user = request.getfixturevalue(persona)
    _filterset, table = customer_list_table(user, QueryDict())
    shown = [column.name for column in table.columns if column.name not in NOT_EXPORTED]
    exported = {column.key for column in customer_export_columns(table)}
    assert exported
    for name in shown:
        assert name in exported or name == "account", f"the list column {name!r} is not exported"


def test_each_export_is_audited_with_its_filters_and_rows(client_for, msp_admin, customers):
    client = client_for(msp_admin)
    read_csv(client.get(reverse("exports:customers_csv") + "?status=active&sort=-contracted_users&page=1"))
    read_xlsx(client.get(reverse("exports:customers_xlsx") + "?q=商事"))
    csv_event, xlsx_event = AuditEvent.objects.filter(action="customers.export").order_by("id")
    assert csv_event.after["format"] == "csv"
    assert csv_event.after["filters"] == {"sort": "-contracted_users", "status": "active"}
    assert csv_event.after["rows"] == 2
    assert xlsx_event.after == {"format": "xlsx", "filters": {"q": "商事"}, "rows": 1}
    assert xlsx_event.actor == msp_admin


def test_a_large_excel_export_goes_to_the_background(client_for, msp_admin, customers, settings, tmp_path):
    settings.PORTAL_EXPORT_DIRECT_MAX_ROWS = 2
    settings.MEDIA_ROOT = tmp_path
    response = client_for(msp_admin).get(reverse("exports:customers_xlsx") + "?sort=account")
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("exports:job", args=[job.pk])
    assert job.dataset == "customers"
    assert job.query_string == "sort=account"
    assert job.status == ExportStatus.QUEUED
    page = client_for(msp_admin).get(response["Location"]).content.decode()
    assert 'hx-trigger="every 2s"' in page
    assert f'href="{url("list")}?sort=account"' in page


def test_export_selected_writes_the_chosen_rows_in_the_lists_order(client_for, msp_admin, customers):
    other = CustomerAccountFactory(organization=OrganizationFactory(kind=OrganizationKind.MSP))
    ids = [customers[0].pk, customers[2].pk, other.pk]
    response = client_for(msp_admin).post(
        reverse("exports:customers_selected_csv"), {"ids": ids, "next": url("list") + "?sort=account"}
    )
    rows = read_csv(response)
    assert [row[0] for row in rows[1:]] == ["aoba-01", "chiba-03"]
    event = AuditEvent.objects.get(action="customers.export")
    assert event.after["rows"] == 2
    assert event.after["filters"]["sort"] == "account"
    response = client_for(msp_admin).post(reverse("exports:customers_selected_xlsx"), {"ids": ids, "next": url("list")})
    assert [cell.value for cell in read_xlsx(response)["A"]][1:] == ["chiba-03", "aoba-01"]


def test_export_selected_without_a_selection_says_so_and_exports_nothing(client_for, msp_admin, customers):
    client = client_for(msp_admin)
    response = client.post(reverse("exports:customers_selected_csv"), {"next": url("list") + "?q=x"})
    assert response.status_code == 302
    assert response["Location"] == url("list") + "?q=x"
    assert "エクスポートする顧客アカウントを選択してください。" in client.get(response["Location"]).content.decode()
    assert not AuditEvent.objects.filter(action="customers.export").exists()
    response = client.post(reverse("exports:customers_selected_xlsx"), {"next": "https://evil.example/"})
    assert response["Location"] == url("list")


def test_the_list_offers_both_buttons_with_its_query_and_the_bulk_actions(client_for, msp_viewer, customers):
    body = client_for(msp_viewer).get(url("list") + "?status=active&sort=-account").content.decode()
    assert "CSVダウンロード" in body and "EXCELダウンロード" in body
    assert f'href="{reverse("exports:customers_csv")}?status=active&amp;sort=-account"' in body
    assert f'href="{reverse("exports:customers_xlsx")}?status=active&amp;sort=-account"' in body
    assert f'href="{reverse("exports:customers_csv")}?status=active&amp;sort=-account&amp;encoding=cp932"' in body
    assert "選択したアカウントをCSVダウンロード" in body


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("customers_csv", "post"),
        ("customers_xlsx", "post"),
        ("customers_selected_csv", "get"),
        ("customers_selected_xlsx", "get"),
    ],
)
def test_the_export_urls_reject_the_wrong_method(client_for, msp_admin, name, method):
    assert getattr(client_for(msp_admin), method)(reverse(f"exports:{name}")).status_code == 405


@pytest.mark.parametrize(
    ("old", "new", "method"),
    [
        ("/customers/export.csv", "exports:customers_csv", "get"),
        ("/customers/export.xlsx", "exports:customers_xlsx", "get"),
        ("/customers/export-selected.csv", "exports:customers_selected_csv", "post"),
        ("/customers/export-selected.xlsx", "exports:customers_selected_xlsx", "post"),
    ],
)
def test_the_old_export_addresses_send_the_same_request_on(client_for, msp_admin, old, new, method):
    # 308 keeps the method and body: a bookmarked download or a posted selection still works.
    response = getattr(client_for(msp_admin), method)(f"{old}?status=active&sort=-account")
    assert response.status_code == 308
    assert response["Location"] == reverse(new) + "?status=active&sort=-account"


def test_the_old_export_addresses_ask_the_same_capability(client, client_for):
    assert client_for(UserFactory(membership=None)).get("/customers/export.csv").status_code == 403
    assert client.get("/customers/export.csv")["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("name", ["customers_csv", "customers_xlsx"])
def test_users_without_a_role_are_refused_and_anonymous_users_sign_in(client, client_for, name):
    assert client_for(UserFactory(membership=None)).get(reverse(f"exports:{name}")).status_code == 403
    response = client.get(reverse(f"exports:{name}"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_nul_character_in_the_parameters_exports_like_the_list_and_is_audited(client_for, msp_admin, customers):
    # PostgreSQL stores no NUL, also inside the audit event's JSON and the job's filters.
    client = client_for(msp_admin)
    query = "q=%E5%95%86%00&status=active%00"
    rows = read_csv(client.get(reverse("exports:customers_csv") + "?" + query))
    assert [row[0] for row in rows[1:]] == list_codes(client, query)
    event = AuditEvent.objects.get(action="customers.export")
    assert event.after["filters"] == {"q": "商\ufffd", "status": "active\ufffd"}
    read_xlsx(client.get(reverse("exports:customers_xlsx") + "?" + query))
    assert AuditEvent.objects.filter(action="customers.export").count() == 2


def test_a_nul_in_a_background_exports_parameters_is_stored_visibly(client_for, msp_admin, customers, settings):
    settings.PORTAL_EXPORT_DIRECT_MAX_ROWS = 1
    response = client_for(msp_admin).get(reverse("exports:customers_xlsx") + "?q=%00")
    assert response.status_code == 302
    assert ExportJob.objects.get().filters == {"q": "\ufffd"}
