import csv
import io

import pytest
from django.http import QueryDict

from customers.tests.factories import CustomerAccountFactory
from exports.columns import iter_rows, resolve_columns
from exports.csv import ROWS_PER_CHUNK, CsvEncoding, ExportTally, csv_chunks
from exports.tests.conftest import TEST_COLUMNS, build_test_customers

pytestmark = pytest.mark.django_db

HEADERS = [
    "アカウントコード",
    "会社名",
    "ステータス",
    "契約ユーザ数",
    "現在のポイント",
    "解約予定日",
    "サポートアカウント",
    "登録日時",
]


def export_csv(user, params="", encoding=CsvEncoding.UTF8, tally=None):
    queryset, columns = build_test_customers(user, QueryDict(params))
    resolved = resolve_columns(columns)
    return b"".join(csv_chunks(iter_rows(queryset, resolved), resolved, encoding=encoding, tally=tally))


def read_csv(data: bytes, encoding="utf-8-sig"):
    return list(csv.reader(io.StringIO(data.decode(encoding), newline="")))


def test_the_csv_starts_with_a_bom_and_reads_back_as_the_list(msp_admin, customers):
    data = export_csv(msp_admin)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = read_csv(data)
    assert rows[0] == HEADERS
    assert rows[1] == [
        "acme-01",
        "株式会社アクメ😀",
        "利用中",
        "25",
        "-15",
        "2025-06-30",
        "サポート窓口",
        "2025-04-01 00:30:05",
    ]
    assert rows[2] == ["beta-02", "'=1+1", "承認待ち", "20", "300", "", "", "2025-04-01 00:30:05"]
    assert len(rows) == 3


def test_headers_follow_the_active_language(msp_admin, customers):
    from django.utils import translation

    with translation.override("en"):
        rows = read_csv(export_csv(msp_admin))
    assert rows[0][:3] == ["account code", "company name", "status"]
    assert rows[1][2] == "Active"


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("=1+1", "'=1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-2", "'-2"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("\tTabbed", "'\tTabbed"),
        ("\rReturn", "'\rReturn"),
        ("a=1+1", "a=1+1"),
        ("株式会社ー", "株式会社ー"),
    ],
)
def test_text_a_spreadsheet_would_run_as_a_formula_is_written_as_text(msp_admin, msp_org, name, written):
    CustomerAccountFactory(organization=msp_org, company_name=name)
    rows = read_csv(export_csv(msp_admin))
    assert rows[1][1] == written


def test_negative_numbers_stay_numbers(msp_admin, msp_org):
    CustomerAccountFactory(organization=msp_org, company_name="-2", points_balance=-2)
    row = read_csv(export_csv(msp_admin))[1]
    assert row[1] == "'-2"
    assert row[4] == "-2"


def test_cp932_keeps_japanese_and_replaces_emoji_and_counts_them(msp_admin, customers):
    tally = ExportTally()
    data = export_csv(msp_admin, encoding=CsvEncoding.CP932, tally=tally)
    assert not data.startswith(b"\xef\xbb\xbf")
    rows = read_csv(data, "cp932")
    assert rows[0][1] == "会社名"
    assert rows[1][1] == "株式会社アクメ?"
    assert rows[1][6] == "サポート窓口"
    assert tally.replaced_characters == 1
    assert tally.rows == 2
    assert tally.completed


def test_it_exports_the_filtered_sorted_view_row_for_row(msp_admin, msp_org):
    for index, points in enumerate([30, -5, 10, 20]):
        CustomerAccountFactory(organization=msp_org, company_name=f"対象{index}", points_balance=points)
    CustomerAccountFactory(organization=msp_org, company_name="別会社", points_balance=0)
    rows = read_csv(export_csv(msp_admin, "q=対象&sort=-points_balance"))
    assert [row[1] for row in rows[1:]] == ["対象0", "対象3", "対象2", "対象1"]
    queryset, _columns = build_test_customers(msp_admin, QueryDict("q=対象&sort=-points_balance"))
    assert [row[0] for row in rows[1:]] == list(queryset.values_list("account_code", flat=True))


def test_other_msps_rows_never_appear(msp_admin, msp_org, other_msp_org):
    CustomerAccountFactory(organization=msp_org, account_code="mine-01")
    CustomerAccountFactory(organization=other_msp_org, account_code="theirs-01")
    rows = read_csv(export_csv(msp_admin))
    assert [row[0] for row in rows[1:]] == ["mine-01"]


def test_support_staff_export_only_their_assigned_customers(support_user, support_org, msp_org):
    CustomerAccountFactory(organization=msp_org, account_code="assigned-01", support_account=support_org)
    CustomerAccountFactory(organization=msp_org, account_code="unassigned-01")
    rows = read_csv(export_csv(support_user))
    assert [row[0] for row in rows[1:]] == ["assigned-01"]


def test_it_streams_in_chunks_with_one_query_whatever_the_row_count(msp_admin, msp_org, django_assert_num_queries):
    CustomerAccountFactory.create_batch(ROWS_PER_CHUNK + 5, organization=msp_org)
    queryset, columns = build_test_customers(msp_admin, QueryDict())
    resolved = resolve_columns(columns)
    with django_assert_num_queries(1):
        chunks = list(csv_chunks(iter_rows(queryset, resolved), resolved))
    # The header, a full chunk and the rest.
    assert len(chunks) == 3
    assert len(read_csv(b"".join(chunks))) == ROWS_PER_CHUNK + 6


def test_an_empty_list_exports_only_the_header(msp_admin):
    rows = read_csv(export_csv(msp_admin))
    assert rows == [[str(column.header) for column in TEST_COLUMNS]]


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        ("cp932", CsvEncoding.CP932),
        ("Shift_JIS", CsvEncoding.CP932),
        ("", CsvEncoding.UTF8),
        ("latin-1", CsvEncoding.UTF8),
    ],
)
def test_the_encoding_parameter_accepts_cp932_and_defaults_to_utf8(raw, encoding):
    assert CsvEncoding.from_param(raw) == encoding
