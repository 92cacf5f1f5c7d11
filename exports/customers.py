"""The customer list's export (顧客アカウント一覧 → CSVダウンロード / EXCELダウンロード).

The rows and their order come from the list's own query (`customers.listing`: the tenant
scope, the FilterSet and the table's sort), the columns from the table's visible columns in
their order with the list's headers, so a filtered, sorted view exports exactly as shown.
Each table column maps to one or more typed export columns here; the "account" column, which
the list shows as code and company name in one cell, becomes two.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from customers.listing import customer_list_table
from customers.models import CustomerAccount, CustomerStatus
from msp_portal.permissions import Cap
from msp_portal.requests import parse_ids

from .columns import ColumnType, ExportColumn
from .datasets import Dataset, register

# List columns that are controls, not data.
NOT_EXPORTED = frozenset({"selection", "actions"})


def _field_label(name: str) -> str:
    return CustomerAccount._meta.get_field(name).verbose_name


def _column(key, field, kind=ColumnType.TEXT, width=16, **extra) -> Callable:
    return lambda header: [ExportColumn(key, header, field, kind, width, **extra)]


# Table column name → the export columns for it, given the list's (translated) header.
COLUMNS: dict[str, Callable[[str], list[ExportColumn]]] = {
    "account": lambda header: [
        ExportColumn("account_code", _field_label("account_code"), "account_code", width=22),
        ExportColumn("company_name", _field_label("company_name"), "company_name", width=36),
    ],
    "status": _column("status", "status", width=14, choices=CustomerStatus.choices),
    "contracted_users": _column("contracted_users", "contracted_users", ColumnType.INT, 12),
    "points_balance": _column("points_balance", "points_balance", ColumnType.INT, 14),
    "estimated_balance": _column("estimated_balance", "estimated_balance", ColumnType.INT, 20),
    "cancellation_date": _column("cancellation_date", "cancellation_date", ColumnType.DATE, 14),
    "support_account": _column("support_account", "support_account__name", width=24),
    "reseller_name": _column("reseller_name", "reseller_name", width=24),
    "organization": _column("organization", "organization__name", width=24),
    "registered_at": _column("registered_at", "registered_at", ColumnType.DATETIME, 20),
}


def customer_export_columns(table) -> list[ExportColumn]:
    columns: list[ExportColumn] = []
    for bound in table.columns:  # the visible ones, in the list's order
        if bound.name in NOT_EXPORTED:
            continue
        make = COLUMNS.get(bound.name)
        if make is not None:
            columns.extend(make(bound.header))
    return columns


def build_customer_export(user, params: QueryDict):
    """The customer list for `user` and the list's URL parameters, with its visible columns;
    repeated `ids` parameters narrow it to the selected accounts (export selected)."""
    _filterset, table = customer_list_table(user, params)
    queryset = table.data.data
    if "ids" in params:
        queryset = queryset.filter(pk__in=parse_ids(params.getlist("ids")))
    return queryset, customer_export_columns(table)


CUSTOMERS = register(
    Dataset(
        name="customers",
        file_stem="customers",
        sheet_title=_("Customer accounts"),
        capability=Cap.CUSTOMERS_EXPORT,
        build=build_customer_export,
        list_url_name="customers:list",
    )
)
