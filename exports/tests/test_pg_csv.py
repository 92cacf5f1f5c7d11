"""The PostgreSQL COPY writer produces the portable writer's bytes, row for row."""

import datetime as dt

import pytest
from django.db import connection
from django.db.models.expressions import RawSQL
from django.http import QueryDict
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from accounts.tests.factories import OrganizationFactory
from customers.models import CustomerStatus
from customers.tests.factories import CustomerAccountFactory
from exports.columns import ColumnType, ExportColumn, iter_rows, resolve_columns
from exports.csv import CsvEncoding, ExportTally, csv_chunks, queryset_csv_chunks
from exports.pg_csv import CHUNK_BYTES, copy_csv_chunks
from exports.tests.conftest import build_test_customers
from msp_portal.permissions import OrganizationKind

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

COLUMNS = [
    ExportColumn("account_code", _("account code"), "account_code"),
    ExportColumn("company_name", _("company name"), "company_name"),
    ExportColumn("status", _("status"), "status", choices=CustomerStatus.choices),
    ExportColumn("contracted_users", _("contracted users"), "contracted_users", ColumnType.INT),
    ExportColumn("points_balance", _("current points"), "points_balance", ColumnType.INT),
    ExportColumn("cancellation_date", _("cancellation date"), "cancellation_date", ColumnType.DATE),
    ExportColumn("support_account", _("support account"), "support_account__name"),
    ExportColumn("reseller_name", _("reseller name"), "reseller_name"),
    ExportColumn("organization", _("organization"), "organization__name"),
    # Labels that need neutralising, an empty label, and codes without a label ("=cmd", "").
    ExportColumn("reseller_label", "=reseller", "reseller_name", choices={"販売店, 大阪": "=Osaka", "-": ""}),
    ExportColumn("registered_at", _("registered at"), "registered_at", ColumnType.DATETIME),
]

AWKWARD_NAMES = [
    'say "hello", world',
    "two\nlines",
    "windows\r\nline",
    "lone\rreturn",
    '"',
    ",",
    " leading and trailing space ",
    "tab\tinside",
    "株式会社アクメ😀",
    "𠮷野家",
    "=1+1",
    "+81-3-1234",
    "-2",
    "@SUM(A1)",
    "\tTabbed",
    "\rReturn",
    "a=1+1",
    "'already quoted",
    "\\.",
    "back\\slash",
    "100%",
    "%s %(name)s",
]


@pytest.fixture
def awkward_customers(msp_org):
    support = OrganizationFactory(name='サポート "窓口", 東京', kind=OrganizationKind.SUPPORT, parent=msp_org)
    base = dt.datetime(2025, 3, 31, 14, 59, 59, 999_999, tzinfo=dt.UTC)  # 23:59:59.999999 in Tokyo
    for index, name in enumerate(AWKWARD_NAMES):
        CustomerAccountFactory(
            organization=msp_org,
            account_code=f"awk-{index:02d}",
            company_name=name,
            status=CustomerStatus.values[index % len(CustomerStatus.values)],
            contracted_users=1 + index * 7,
            points_balance=-(index * 1001) if index % 2 else index * 999,
            cancellation_date=dt.date(2025, 1 + index % 12, 28) if index % 3 else None,
            support_account=support if index % 2 else None,
            reseller_name=["", "販売店, 大阪", "=cmd", "-"][index % 4],
            registered_at=base + dt.timedelta(days=index * 40, microseconds=index),
        )


def both_writers(user, encoding=CsvEncoding.UTF8, params="", columns=COLUMNS):
    queryset, _columns = build_test_customers(user, QueryDict(params))
    resolved = resolve_columns(columns)
    python_tally, copy_tally = ExportTally(), ExportTally()
    python = b"".join(csv_chunks(iter_rows(queryset, resolved), resolved, encoding=encoding, tally=python_tally))
    copied = b"".join(copy_csv_chunks(queryset, resolved, encoding=encoding, tally=copy_tally))
    return python, copied, python_tally, copy_tally


@pytest.mark.parametrize("language", ["ja", "en"])
def test_copy_writes_the_same_utf8_bytes_as_the_python_writer(msp_admin, awkward_customers, language):
    with translation.override(language):
        python, copied, python_tally, copy_tally = both_writers(msp_admin)
    assert copied == python
    assert copy_tally == python_tally
    assert copy_tally.rows == len(AWKWARD_NAMES)
    assert copy_tally.completed
    # The data set really is awkward: quoted fields, labels, formulas neutralised.
    assert b'"say ""hello"", world"' in copied
    assert b"'=1+1" in copied
    assert "承認待ち".encode() in copied or language == "en"


def test_copy_writes_the_same_cp932_bytes_and_counts_the_same_replacements(msp_admin, awkward_customers):
    python, copied, python_tally, copy_tally = both_writers(msp_admin, CsvEncoding.CP932)
    assert copied == python
    assert copy_tally.replaced_characters == python_tally.replaced_characters == 2  # 😀 and 𠮷
    assert copy_tally.rows == python_tally.rows == len(AWKWARD_NAMES)


def test_copy_keeps_the_lists_filter_and_order(msp_admin, awkward_customers):
    python, copied, _python_tally, copy_tally = both_writers(msp_admin, params="q=line&sort=-points_balance")
    assert copied == python
    assert copy_tally.rows == 2


def test_copy_of_an_empty_list_is_the_header_alone(msp_admin):
    python, copied, _python_tally, copy_tally = both_writers(msp_admin)
    assert copied == python
    assert copy_tally.rows == 0


def test_copy_sends_large_exports_in_chunks_of_whole_rows(msp_admin, msp_org):
    CustomerAccountFactory.create_batch(3000, organization=msp_org, company_name="株式会社" + "長" * 40)
    queryset, _columns = build_test_customers(msp_admin, QueryDict())
    resolved = resolve_columns(COLUMNS)
    chunks = list(copy_csv_chunks(queryset, resolved))
    assert len(chunks) > 2
    assert all(len(chunk) < 2 * CHUNK_BYTES for chunk in chunks)
    assert all(chunk.endswith(b"\r\n") for chunk in chunks)
    assert b"".join(chunks) == b"".join(csv_chunks(iter_rows(queryset, resolved), resolved))


def test_the_export_uses_copy_on_postgresql_and_leaves_the_connection_usable_when_abandoned(msp_admin, msp_org):
    CustomerAccountFactory.create_batch(3000, organization=msp_org, company_name="株式会社" + "長" * 40)
    queryset, _columns = build_test_customers(msp_admin, QueryDict())
    resolved = resolve_columns(COLUMNS)
    tally = ExportTally()
    chunks = queryset_csv_chunks(queryset, resolved, tally=tally)
    assert chunks.gi_code.co_name == "copy_csv_chunks"
    next(chunks)  # the header
    next(chunks)  # the first rows
    chunks.close()  # the client went away
    assert 0 < tally.rows < 3000
    assert not tally.completed
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_a_download_abandoned_while_the_server_still_copies_leaves_the_callers_transaction_usable(msp_admin, msp_org):
    CustomerAccountFactory.create_batch(60, organization=msp_org)
    queryset, _columns = build_test_customers(msp_admin, QueryDict())
    # 20 KB a row, and 10 ms of the server's time each (PostgreSQL evaluates the volatile column
    # after its sort, row by row): a chunk is sent after 13 rows, while the COPY still runs.
    queryset = queryset.annotate(padding=RawSQL("repeat('x', 20000) || pg_sleep(0.01)::text", ()))
    columns = resolve_columns([*COLUMNS, ExportColumn("padding", "padding", "padding")])
    tally = ExportTally()
    chunks = copy_csv_chunks(queryset, columns, tally=tally)
    next(chunks)  # the header
    next(chunks)  # the first rows
    chunks.close()  # the client went away: the COPY is cancelled
    assert 0 < tally.rows < 60
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_customeraccount")
        assert cursor.fetchone() == (60,)
