"""/metrics: off unless enabled, answered to the token or an allowed network only, and the
series an operator alerts on, read after a request, a task and a daily run. Request ids: in the
response, on the request's log records (JSON lines when asked), and carried to queued tasks."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from billing_jobs.services import run_billing
from customers.models import CustomerStatus
from customers.tests.factories import CustomerAccountFactory
from msp_portal import observability
from msp_portal.celery import app

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-0123456789"


@pytest.fixture
def metrics_on(settings):
    settings.PORTAL_METRICS_ENABLED = True
    settings.PORTAL_METRICS_TOKEN = TOKEN
    settings.PORTAL_METRICS_ALLOWED_NETWORKS = []
    return settings


def scrape(client: Client | None = None) -> str:
    response = (client or Client()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


def value(text: str, series: str, **labels) -> float | None:
    """The sample of `series` whose labels include `labels`; None when absent."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.match(r"^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$", line)
        if not match or match.group(1) != series:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(3) or ""))
        if all(found.get(key) == str(wanted) for key, wanted in labels.items()):
            return float(match.group(4))
    return None


def test_metrics_are_off_unless_enabled(client):
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404


def test_metrics_need_the_token_or_an_allowed_network(metrics_on, client):
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    metrics_on.PORTAL_METRICS_TOKEN = ""
    metrics_on.PORTAL_METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert client.get("/metrics").status_code == 403  # the test client comes from 127.0.0.1
    metrics_on.PORTAL_METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8", "127.0.0.0/8"]
    assert client.get("/metrics").status_code == 200


def test_healthz_answers_without_authentication_with_metrics_on(metrics_on, client):
    assert client.get("/healthz").status_code == 200


def test_a_request_shows_its_latency_and_queries_by_view(metrics_on, client_for, msp_admin):
    before = scrape()
    count = value(before, "portal_http_request_duration_seconds_count", view="customers:list", method="GET")
    assert client_for(msp_admin).get("/customers/").status_code == 200
    after = scrape()
    assert (
        value(after, "portal_http_request_duration_seconds_count", view="customers:list", method="GET", status="200")
        == (count or 0) + 1
    )
    assert value(after, "portal_http_request_duration_seconds_sum", view="customers:list", status="200") > 0
    # The list reads the database: some queries, fewer than the largest bucket.
    assert value(after, "portal_http_request_db_queries_sum", view="customers:list") >= 1
    assert value(after, "portal_http_request_db_queries_bucket", view="customers:list", le="500.0") >= 1


def test_a_task_shows_its_runtime_and_a_failing_one_its_failure(metrics_on):
    app.loader.import_default_modules()
    task = "exports.tasks.expire_exports"
    before = value(scrape(), "portal_celery_task_duration_seconds_count", task=task) or 0
    app.tasks[task].delay()
    assert value(scrape(), "portal_celery_task_duration_seconds_count", task=task) == before + 1

    failing = "exports.tasks.run_export_job"
    failures = value(scrape(), "portal_celery_task_failures_total", task=failing) or 0
    result = app.tasks[failing].apply(args=["00000000-0000-0000-0000-000000000000"], throw=False)
    assert result.failed()
    assert value(scrape(), "portal_celery_task_failures_total", task=failing) == failures + 1


def test_a_daily_run_provisioning_failures_and_the_ledger_check_show(metrics_on, msp_org):
    # verify_ledger's result travels through the cache. With REDIS_URL set the suite's workers
    # share one Redis cache and each test clears it as it starts, which could wipe the result
    # between the check and the scrape: this test keeps its own in-process cache.
    metrics_on.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert value(scrape(), "portal_billing_seconds_since_last_successful_daily_run") is None
    assert value(scrape(), "portal_ledger_problems") is None
    CustomerAccountFactory(organization=msp_org, status=CustomerStatus.PROVISIONING_FAILED)
    CustomerAccountFactory(organization=msp_org)
    run_at = dt.datetime(2026, 11, 25, 0, 30, tzinfo=dt.UTC)  # 09:30 on the 25th in Tokyo
    with time_machine.travel(run_at, tick=False):
        assert run_billing(dt.date(2026, 11, 25)).status == "succeeded"
    call_command("verify_ledger", quiet=True)
    with time_machine.travel(run_at + dt.timedelta(hours=2), tick=False):
        text = scrape()
    assert 7199 <= value(text, "portal_billing_seconds_since_last_successful_daily_run") <= 7201
    assert value(text, "portal_customers_provisioning_failed") == 1
    assert value(text, "portal_ledger_problems") == 0
    assert value(text, "portal_ledger_last_check_timestamp_seconds") > 0
    for queue in ("billing", "exports", "default"):
        assert value(text, "portal_celery_queue_depth", queue=queue) is not None


@pytest.mark.redis
def test_queue_depth_counts_the_messages_waiting_on_redis(metrics_on, settings, broker):
    producer = broker.producer()
    try:
        for _ in range(3):
            producer.send_task("exports.tasks.run_export_job", args=["x"])
        producer.send_task("billing_jobs.tasks.charge_chunk", args=[1], priority=6)
        producer.send_task("accounts.tasks.provision_customer", args=[1])
    finally:
        producer.close()
    settings.CELERY_BROKER_URL = broker.url
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": broker.prefix}
    assert observability.queue_depths() == {"billing": 1, "exports": 3, "default": 1}
    text = scrape()
    assert value(text, "portal_celery_queue_depth", queue="exports") == 3


def test_each_response_carries_a_request_id_and_a_sane_one_offered_is_kept(client):
    generated = client.get("/healthz")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-1234.abc")["X-Request-ID"] == "lb-1234.abc"
    assert client.get("/healthz", HTTP_X_REQUEST_ID="bad id\n")["X-Request-ID"] != "bad id\n"


def test_json_log_lines_carry_the_request_id():
    record = logging.LogRecord("portal.test", logging.WARNING, __file__, 1, "charged %s", ("5",), None)
    token = observability.set_request_id("req-42")
    try:
        assert observability.RequestIdFilter().filter(record)
    finally:
        observability.reset_request_id(token)
    line = json.loads(observability.JsonFormatter().format(record))
    assert line["message"] == "charged 5"
    assert line["request_id"] == "req-42"
    assert (line["level"], line["logger"]) == ("WARNING", "portal.test")


def test_a_task_queued_during_a_request_carries_its_id_in_a_header_and_logs_with_it():
    headers: dict = {}
    token = observability.set_request_id("req-77")
    try:
        observability._add_request_id_header(headers=headers)
    finally:
        observability.reset_request_id(token)
    assert headers == {observability.TASK_HEADER: "req-77"}

    # The worker's side: the header arrives as an attribute of the task's request.
    seen = []

    class Request:
        portal_request_id = "req-77"

    class Task:
        name = "t"
        request = Request()

    observability._task_started(task_id="1", task=Task())
    seen.append(observability.current_request_id())
    observability._task_finished(task_id="1", task=Task())
    assert seen == ["req-77"]
    assert observability.current_request_id() == ""


def test_a_worker_serves_its_task_series_on_its_own_port(metrics_on):
    import urllib.request

    from .s3server import free_port

    port = free_port()
    metrics_on.PORTAL_METRICS_WORKER_PORT = port
    metrics_on.PORTAL_METRICS_WORKER_ADDRESS = "127.0.0.1"
    app.loader.import_default_modules()
    app.tasks["exports.tasks.expire_exports"].delay()
    observability._serve_worker_metrics()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as served:
        text = served.read().decode()
    assert value(text, "portal_celery_task_duration_seconds_count", task="exports.tasks.expire_exports") >= 1
