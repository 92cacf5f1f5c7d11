"""The REST API's figures (DESIGN.md §12, §13), beside the page's in `manage.py bench`:

- the customers list endpoint's server time (p95 of warm requests through the whole stack, in
  process, with an API key), on the first page and on a cursor page 400 pages deep, for the
  bench's MSP admin and for the operator over all accounts; bar < 100 ms (the list page's bar
  for its other daily pages); baseline: the raw SQL of the same page's query, executed alone;
- a client iterating all accounts of the largest MSP by cursor (1,000 a page); bar ≥ 20,000
  rows/s; baseline: one SELECT of the same rows in the same order, fetched whole.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlencode

from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

URL = "/api/v1/customers/"
DEEP_PAGES = 400
PAGE_SIZE = 50
ITERATION_PAGE_SIZE = 1000
ROWS_PER_SECOND_BAR = 20_000


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[rank] if ordered else 0.0


def _key_for(user) -> str:
    import datetime as dt

    from api.services import api_key_create

    _key, secret = api_key_create(
        actor=user, name="bench", scopes=["customers:read"], expires_on=timezone.localdate() + dt.timedelta(days=1)
    )
    return secret


def _page_query(captured) -> str:
    """The page's own SELECT among a request's queries (the key's look-up is the other one)."""
    selects = [q["sql"] for q in captured if "customeraccount" in q["sql"] and " LIMIT " in q["sql"]]
    return max(selects, key=len)


def _raw_ms(sql: str) -> float:
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(sql)
        cursor.fetchall()
        return (time.perf_counter() - started) * 1000


def _deep_cursor(user, depth_rows: int) -> str | None:
    """The cursor of the page after `depth_rows` rows in the default order (found with one
    untimed OFFSET query, as a client would reach it after paging)."""
    from api.pagination import Ordering, cursor_after, order
    from customers.selectors import customers_for_list

    ordering = Ordering("registered_at", True)
    queryset = order(customers_for_list(user).filter(archived_at__isnull=True), ordering)
    row = queryset[depth_rows - 1 : depth_rows].first()
    return cursor_after(row, ordering) if row is not None else None


def api_figures(command) -> list:
    from bench.management.commands.bench import Figure

    command.stdout.write("API…")
    quick = command.options["quick"]
    requests = command.options["requests"]
    warmup = command.options["warmup"]
    figures = []
    with override_settings(PORTAL_API_RATE_LIMIT="100000000/min"):
        for who, user in (("msp", command.msp_admin), ("operator", command.operator)):
            client = Client(HTTP_HOST="127.0.0.1", headers={"Authorization": f"Bearer {_key_for(user)}"})
            visible = user.organization.customers.count() if who == "msp" else command.accounts
            # 400 pages deep, or as deep as a small (quick) data set reaches.
            depth = min(DEEP_PAGES, max(1, visible // PAGE_SIZE - 1)) * PAGE_SIZE
            cursor = _deep_cursor(user, depth)
            for page, params in (("first", {}), ("deep", {"cursor": cursor} if cursor else {})):
                url = f"{URL}?{urlencode(params)}" if params else URL
                for _ in range(warmup):
                    client.get(url, secure=True)
                timings = []
                for _ in range(requests):
                    started = time.perf_counter()
                    response = client.get(url, secure=True)
                    timings.append((time.perf_counter() - started) * 1000)
                    if response.status_code != 200:
                        raise RuntimeError(f"{url}: {response.status_code} {response.content[:200]!r}")
                with CaptureQueriesContext(connection) as captured:
                    client.get(url, secure=True)
                sql = _page_query(captured.captured_queries)
                raw = [_raw_ms(sql) for _ in range(max(3, min(10, requests)))]
                p95, raw_p95 = _percentile(timings, 95), _percentile(raw, 95)
                figures.append(
                    Figure(
                        f"api.customers.{page}.{who}.server_p95",
                        round(p95, 1),
                        "ms",
                        "raw SQL of the same page's query",
                        round(raw_p95, 1),
                        round(p95 / raw_p95, 2) if raw_p95 else None,
                        "< 100 ms",
                        p95 < 100,
                        {
                            "url": url,
                            "rows_deep": depth if page == "deep" else 0,
                            "p50_ms": round(_percentile(timings, 50), 1),
                            "queries": len(captured.captured_queries),
                        },
                    )
                )
                command.stdout.write(
                    f"  API list {page:<5} {who:<8} p95 {p95:6.1f} ms · raw SQL {raw_p95:6.1f} ms"
                    f"{f' · {depth:,} rows deep' if page == 'deep' else ''}"
                )
        figures.append(_iteration_figure(command, Figure, quick))
    return figures


def _iteration_figure(command, Figure, quick: bool):
    from customers.models import CustomerAccount

    largest = (
        CustomerAccount.objects.values("organization_id")
        .annotate(n=Count("id"))
        .order_by("-n", "organization_id")
        .first()
    )
    organization_id = largest["organization_id"]
    client = Client(HTTP_HOST="127.0.0.1", headers={"Authorization": f"Bearer {_key_for(command.operator)}"})
    url = f"{URL}?{urlencode({'organization': organization_id, 'page_size': ITERATION_PAGE_SIZE})}"
    with CaptureQueriesContext(connection) as captured:
        client.get(url, secure=True)
    first_page_sql = _page_query(captured.captured_queries)
    rows, pages = 0, 0
    started = time.perf_counter()
    while url:
        body = client.get(url, secure=True).json()
        rows += len(body["results"])
        pages += 1
        url = body["next"]
    elapsed = time.perf_counter() - started
    rate = rows / elapsed if elapsed else 0.0
    # The same rows, same order, one statement: the page query without its LIMIT.
    whole = re.sub(r"\s+LIMIT\s+\d+\s*$", "", first_page_sql)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(whole)
        raw_rows = len(cursor.fetchall())
    raw_elapsed = time.perf_counter() - started
    raw_rate = raw_rows / raw_elapsed if raw_elapsed else 0.0
    command.stdout.write(
        f"  API iteration of MSP {organization_id}: {rows:,} rows in {pages} pages, {rate:,.0f} rows/s"
        f" · one SELECT {raw_rate:,.0f} rows/s"
    )
    return Figure(
        "api.customers.iterate.rows_per_s",
        round(rate),
        "rows/s",
        "one SELECT of the same rows in the same order",
        round(raw_rate),
        round(rate / raw_rate, 2) if raw_rate else None,
        f">= {ROWS_PER_SECOND_BAR:,} rows/s",
        rate >= ROWS_PER_SECOND_BAR,
        {"rows": rows, "pages": pages, "page_size": ITERATION_PAGE_SIZE, "organization": organization_id},
    )
