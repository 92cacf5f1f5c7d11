import datetime as dt
import io

import openpyxl
import pytest
from django.http import QueryDict

from customers.tests.factories import CustomerAccountFactory
from exports.columns import iter_rows, resolve_columns
from exports.tests.conftest import build_test_customers
from exports.xlsx import sheet_title, write_xlsx

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


def export_xlsx(user, params=""):
    queryset, columns = build_test_customers(user, QueryDict(params))
    resolved = resolve_columns(columns)
    target = io.BytesIO()
    rows = write_xlsx(iter_rows(queryset, resolved), resolved, target, title="顧客アカウント")
    target.seek(0)
    return openpyxl.load_workbook(target), rows


def values(sheet):
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def test_the_workbook_reads_back_with_headers_values_types_and_order(msp_admin, customers):
    workbook, rows = export_xlsx(msp_admin)
    assert rows == 2
    sheet = workbook.active
    assert sheet.title == "顧客アカウント"
    assert values(sheet) == [
        HEADERS,
        [
            "acme-01",
            "株式会社アクメ😀",
            "利用中",
            25,
            -15,
            dt.datetime(2025, 6, 30),
            "サポート窓口",
            dt.datetime(2025, 4, 1, 0, 30, 5),
        ],
        ["beta-02", "=1+1", "承認待ち", 20, 300, None, None, dt.datetime(2025, 4, 1, 0, 30, 5)],
    ]
    acme = sheet[2]
    assert acme[3].data_type == "n"
    assert acme[4].data_type == "n"
    assert acme[5].is_date
    assert acme[5].number_format == "yyyy-mm-dd"
    assert acme[7].is_date


def test_the_header_row_is_frozen_bold_and_filterable_with_sensible_widths(msp_admin, customers):
    workbook, _rows = export_xlsx(msp_admin)
    sheet = workbook.active
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.auto_filter.ref == "A1:H3"
    assert sheet.column_dimensions["A"].width == 20
    assert sheet.column_dimensions["B"].width == 32


@pytest.mark.parametrize("name", ["=1+1", "@SUM(A1)", "-2", "+cmd|' /C calc'!A0", "\tTabbed", "\rReturn"])
def test_formula_like_text_is_stored_as_text_exactly_as_written(msp_admin, msp_org, name):
    CustomerAccountFactory(organization=msp_org, company_name=name)
    workbook, _rows = export_xlsx(msp_admin)
    cell = workbook.active["B2"]
    assert cell.data_type == "s"
    assert cell.value == name
    assert cell.quotePrefix


def test_negative_numbers_stay_numbers_beside_negative_looking_text(msp_admin, msp_org):
    CustomerAccountFactory(organization=msp_org, company_name="-2", points_balance=-2)
    sheet = export_xlsx(msp_admin)[0].active
    assert (sheet["B2"].value, sheet["B2"].data_type) == ("-2", "s")
    assert (sheet["E2"].value, sheet["E2"].data_type) == (-2, "n")


def test_control_characters_that_xml_cannot_hold_are_dropped(msp_admin, msp_org):
    CustomerAccountFactory(organization=msp_org, company_name="ベル\x07株式会社")
    sheet = export_xlsx(msp_admin)[0].active
    assert sheet["B2"].value == "ベル株式会社"


def test_a_long_export_continues_on_new_sheets_with_the_header_repeated(msp_admin, msp_org, settings):
    settings.PORTAL_EXPORT_XLSX_SHEET_ROWS = 3
    for index in range(7):
        CustomerAccountFactory(organization=msp_org, account_code=f"split-{index}")
    workbook, rows = export_xlsx(msp_admin)
    assert rows == 7
    assert workbook.sheetnames == ["顧客アカウント", "顧客アカウント (2)", "顧客アカウント (3)"]
    codes = []
    for sheet in workbook.worksheets:
        table = values(sheet)
        assert table[0][0] == "アカウントコード"
        assert sheet.freeze_panes == "A2"
        codes.extend(row[0] for row in table[1:])
    assert [len(values(sheet)) - 1 for sheet in workbook.worksheets] == [3, 3, 1]
    assert codes == [f"split-{index}" for index in range(7)]


def test_the_sheet_row_setting_never_exceeds_excels_limit(settings):
    from exports.xlsx import EXCEL_MAX_ROWS, data_rows_per_sheet

    settings.PORTAL_EXPORT_XLSX_SHEET_ROWS = 5_000_000
    assert data_rows_per_sheet() == EXCEL_MAX_ROWS - 1


def test_an_empty_list_gives_a_sheet_with_the_header_only(msp_admin):
    workbook, rows = export_xlsx(msp_admin)
    assert rows == 0
    assert len(values(workbook.active)) == 1


def test_sheet_titles_drop_characters_excel_forbids_and_fit_31_characters():
    assert sheet_title("a/b:c*d?[e]", 1) == "a b c d  e"
    assert len(sheet_title("顧" * 40, 12)) == 31
    assert sheet_title("顧" * 40, 12).endswith(" (12)")
