"""A dataset of the tests' own over customer accounts, so the engine is tested without the
customer list (which provides the real one)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils.translation import gettext_lazy as _

from accounts.tests.factories import OrganizationFactory
from customers.models import CustomerStatus
from customers.selectors import customers_visible_to
from customers.tests.factories import CustomerAccountFactory
from exports import datasets
from exports.columns import ColumnType, ExportColumn
from msp_portal.permissions import Cap, OrganizationKind

TEST_COLUMNS = [
    ExportColumn("account_code", _("account code"), "account_code", width=20),
    ExportColumn("company_name", _("company name"), "company_name", width=32),
    ExportColumn("status", _("status"), "status", choices=CustomerStatus.choices),
    ExportColumn("contracted_users", _("contracted users"), "contracted_users", ColumnType.INT),
    ExportColumn("points_balance", _("current points"), "points_balance", ColumnType.INT),
    ExportColumn("cancellation_date", _("cancellation date"), "cancellation_date", ColumnType.DATE),
    ExportColumn("support_account", _("support account"), "support_account__name"),
    ExportColumn("registered_at", _("registered at"), "registered_at", ColumnType.DATETIME, width=20),
]


def build_test_customers(user, params):
    queryset = customers_visible_to(user)
    if params.get("q"):
        queryset = queryset.filter(company_name__icontains=params["q"])
    ids = [value for value in params.getlist("ids") if value.isdigit()]
    if ids:
        queryset = queryset.filter(pk__in=ids)
    ordering = params.get("sort") or "account_code"
    if ordering.lstrip("-") not in {"account_code", "points_balance", "company_name"}:
        ordering = "account_code"
    return queryset.order_by(ordering, "pk"), TEST_COLUMNS


TEST_DATASET = datasets.Dataset(
    name="test_customers",
    file_stem="customers",
    sheet_title=_("customer accounts"),
    capability=Cap.CUSTOMERS_EXPORT,
    build=build_test_customers,
)


@pytest.fixture(autouse=True)
def test_dataset():
    datasets.register(TEST_DATASET)
    yield TEST_DATASET
    datasets._DATASETS.pop(TEST_DATASET.name, None)


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


REGISTERED = dt.datetime(2025, 3, 31, 15, 30, 5, tzinfo=dt.UTC)  # 2025-04-01 00:30:05 in Tokyo


@pytest.fixture
def customers(msp_org):
    support = OrganizationFactory(name="サポート窓口", kind=OrganizationKind.SUPPORT, parent=msp_org)
    return [
        CustomerAccountFactory(
            organization=msp_org,
            account_code="acme-01",
            company_name="株式会社アクメ😀",
            contracted_users=25,
            points_balance=-15,
            cancellation_date=dt.date(2025, 6, 30),
            support_account=support,
            registered_at=REGISTERED,
        ),
        CustomerAccountFactory(
            organization=msp_org,
            account_code="beta-02",
            company_name="=1+1",
            status="pending_approval",
            points_balance=300,
            registered_at=REGISTERED,
        ),
    ]
