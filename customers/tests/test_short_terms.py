"""One- and two-character searches (札幌, a single kana): the same rows as the plain LIKE (on
SQLite and, under the postgres marker's runs, on PostgreSQL through the grams), and on
PostgreSQL a plan through the grams index (customers.search.short_term_filter), since the
trigram index cannot serve a term shorter than a trigram."""

from __future__ import annotations

import pytest
from django.db import connection

from customers.models import CustomerAccount
from customers.selectors import customer_search

from .factories import CustomerAccountFactory


def _codes(queryset) -> set[str]:
    return set(queryset.values_list("account_code", flat=True))


@pytest.fixture
def accounts(db):
    return {
        "sapporo": CustomerAccountFactory(account_code="sapporo-1", company_name="札幌通信株式会社"),
        "kana": CustomerAccountFactory(
            account_code="kana-1", company_name="株式会社エム", company_name_kana="カブシキガイシャエム"
        ),
        "other": CustomerAccountFactory(account_code="other-1", company_name="大阪物産株式会社"),
    }


@pytest.mark.django_db
def test_short_terms_find_what_the_plain_search_finds(accounts):
    everything = CustomerAccount.objects.all()
    assert _codes(customer_search(everything, "札幌")) == {"sapporo-1"}
    assert _codes(customer_search(everything, "札")) == {"sapporo-1"}
    # A half-width katakana term folds to hiragana, as the stored text does.
    assert _codes(customer_search(everything, "ｴﾑ")) == {"kana-1"}
    assert _codes(customer_search(everything, "阪")) == {"other-1"}
    # Nothing matches: no row, and a short term with a long one narrows by both.
    assert _codes(customer_search(everything, "名古")) == set()
    assert _codes(customer_search(everything, "札幌 大阪物産")) == set()


def _plan(queryset) -> str:
    with connection.cursor() as cursor:
        # A handful of rows is cheaper to scan than any index: take the scan away so that the
        # plan shows which index the query can use at all (at a million accounts the planner
        # picks it by cost; bench's page and list figures show those plans).
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = queryset.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("term", ["札幌", "札", "ｴﾑ"])
def test_a_short_term_is_served_by_the_grams_index(accounts, term):
    plan = _plan(customer_search(CustomerAccount.objects.all(), term).order_by())
    assert "customer_search_grams" in plan, plan
    # The gram is the term: no LIKE beside it (whose estimate would mislead the planner).
    assert "~~" not in plan, plan


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_long_term_keeps_the_trigram_index(accounts):
    plan = _plan(customer_search(CustomerAccount.objects.all(), "札幌通信").order_by())
    assert "customer_search_trgm" in plan, plan
    assert "customer_search_grams" not in plan, plan
