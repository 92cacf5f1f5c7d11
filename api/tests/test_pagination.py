"""Keyset pagination: every row exactly once, also while rows are inserted between pages, in
every sort of the list page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from customers.tests.factories import CustomerAccountFactory


def _walk(api, url, insert=None):
    seen, pages = [], 0
    while url:
        body = api.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
        pages += 1
        if insert is not None:
            insert(pages)
    return seen, pages


@pytest.mark.parametrize(
    "sort",
    ["-registered_at", "registered_at", "account", "-contracted_users", "estimated_balance", "cancellation_date"],
)
def test_every_row_comes_exactly_once_while_rows_are_inserted(sort, msp_admin, msp_org, api_for):
    start = timezone.now() - dt.timedelta(days=10)
    existing = [
        CustomerAccountFactory(
            organization=msp_org,
            registered_at=start + dt.timedelta(hours=n // 3),  # ties, broken by id
            contracted_users=10 + n % 4,
            estimated_balance=n % 5 - 2,
            cancellation_date=dt.date(2999, 1, 1 + n % 3) if n % 2 else None,
        ).pk
        for n in range(23)
    ]
    api = api_for(msp_admin)

    def insert(page):
        CustomerAccountFactory(organization=msp_org, contracted_users=11, estimated_balance=0)

    seen, pages = _walk(api, f"/api/v1/customers/?sort={sort}&page_size=4", insert)
    assert pages >= 6
    assert len(seen) == len(set(seen))  # nothing twice
    assert set(existing) <= set(seen)  # nothing missed


def test_the_cursor_belongs_to_its_sort(msp_admin, msp_org, api_for):
    for _ in range(3):
        CustomerAccountFactory(organization=msp_org)
    api = api_for(msp_admin)
    cursor = api.get("/api/v1/customers/?page_size=1").json()["next_cursor"]
    assert api.get(f"/api/v1/customers/?page_size=1&sort=account&cursor={cursor}").status_code == 400


def test_the_list_takes_the_pages_search_and_filters(msp_admin, msp_org, api_for):
    wanted = CustomerAccountFactory(organization=msp_org, company_name="見つかる商事", estimated_balance=-5)
    CustomerAccountFactory(organization=msp_org, company_name="別の会社", estimated_balance=5)
    api = api_for(msp_admin)
    assert [r["id"] for r in api.get("/api/v1/customers/?q=見つかる").json()["results"]] == [wanted.pk]
    assert [r["id"] for r in api.get("/api/v1/customers/?shortage=yes").json()["results"]] == [wanted.pk]
    response = api.get("/api/v1/customers/?status=nonsense")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "status"


def test_the_ledger_pages_newest_first(msp_admin, customer, funded_pool, api_for):
    api = api_for(msp_admin)
    for n in range(5):
        api.post(
            f"/api/v1/customers/{customer.pk}/points/",
            {"operation": "add", "amount": n + 1},
            **{"Idempotency-Key": f"k{n}"},
        )
    seen, _pages = _walk(api, f"/api/v1/customers/{customer.pk}/ledger/?page_size=2")
    body = api.get(f"/api/v1/customers/{customer.pk}/ledger/?page_size=10").json()["results"]
    assert len(seen) == 5 and [row["points"] for row in body] == [5, 4, 3, 2, 1]
    assert body[0]["balance_after"] == 15
