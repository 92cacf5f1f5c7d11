"""Metrics and request ids: what an operator watches on a portal spread over several hosts.

- `/metrics` (`metrics_view`), in the Prometheus text format, off unless PORTAL_METRICS_ENABLED
  and answered only to a bearer token (PORTAL_METRICS_TOKEN) or an allowed network
  (PORTAL_METRICS_ALLOWED_NETWORKS). Per process: request latency and database queries per
  request, by view (`MetricsMiddleware`), Celery task runtime and failures, by task (the signal
  handlers below; a worker serves its own on PORTAL_METRICS_WORKER_PORT). Read from the
  database, the broker and the cache at each scrape, so every web host answers the same: queue
  depth per queue, seconds since the last successful daily run, accounts whose provisioning
  failed, and the last `verify_ledger` result.
- A request id (`RequestIdMiddleware`): the client's X-Request-ID when it is a sane token,
  otherwise a new one; echoed in the response, put on every log record of the request
  (`RequestIdFilter`), and carried to the tasks the request queues in a message header, so the
  task's log lines carry it too. PORTAL_LOG_FORMAT=json writes the logs as JSON lines
  (`JsonFormatter`).
"""

from __future__ import annotations

import contextvars
import ipaddress
import json
import logging
import re
import secrets
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import Http404, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

from .permissions import public

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
# The Celery message header that carries the request id from the web process to the task.
TASK_HEADER = "portal_request_id"
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("portal_request_id", default="")
LEDGER_CACHE_KEY = "portal:metrics:verify_ledger"

# One registry of the portal's own series (no default process collectors: the same names on
# every host and in the tests).
REGISTRY = CollectorRegistry(auto_describe=True)
REQUEST_LATENCY = Histogram(
    "portal_http_request_duration_seconds",
    "Time to answer a request, by view.",
    ["view", "method", "status"],
    registry=REGISTRY,
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
REQUEST_QUERIES = Histogram(
    "portal_http_request_db_queries",
    "Database queries run by one request, by view.",
    ["view"],
    registry=REGISTRY,
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
)
TASK_DURATION = Histogram(
    "portal_celery_task_duration_seconds",
    "Run time of a Celery task, by task.",
    ["task"],
    registry=REGISTRY,
    buckets=(0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
)
TASK_FAILURES = Counter(
    "portal_celery_task_failures",
    "Celery tasks that raised, by task.",
    ["task"],
    registry=REGISTRY,
)


def current_request_id() -> str:
    return _request_id.get()


def set_request_id(value: str) -> contextvars.Token:
    return _request_id.set(value)


def reset_request_id(token: contextvars.Token) -> None:
    _request_id.reset(token)


# --- Requests ---------------------------------------------------------------------------------


class RequestIdMiddleware:
    """Give each request an id (see the module's docstring) and answer with it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = offered if _REQUEST_ID_RE.match(offered) else uuid.uuid4().hex
        request.request_id = request_id
        token = set_request_id(request_id)
        try:
            response = self.get_response(request)
        finally:
            reset_request_id(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class _QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class MetricsMiddleware:
    """Request latency and database queries per request, labelled by the view's URL name (a
    bounded set: never the path, which holds ids)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not settings.PORTAL_METRICS_ENABLED:
            return self.get_response(request)
        counter = _QueryCounter()
        started = time.perf_counter()
        with connections["default"].execute_wrapper(counter):
            response = self.get_response(request)
        elapsed = time.perf_counter() - started
        view = _view_label(request)
        REQUEST_LATENCY.labels(view=view, method=request.method, status=str(response.status_code)).observe(elapsed)
        REQUEST_QUERIES.labels(view=view).observe(counter.count)
        return response


def _view_label(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unresolved>"
    return match.view_name or "<unnamed>"


# --- Celery -----------------------------------------------------------------------------------


def connect_celery_signals() -> None:
    """Hook the task series and the request id into Celery (called once, by msp_portal.celery)."""
    from celery import signals

    signals.before_task_publish.connect(_add_request_id_header, weak=False)
    signals.task_prerun.connect(_task_started, weak=False)
    signals.task_postrun.connect(_task_finished, weak=False)
    signals.task_failure.connect(_task_failed, weak=False)
    signals.worker_init.connect(_serve_worker_metrics, weak=False)


def _add_request_id_header(headers=None, **_kwargs):
    request_id = current_request_id()
    if headers is not None and request_id and TASK_HEADER not in headers:
        headers[TASK_HEADER] = request_id


_task_state: dict[str, tuple[float, contextvars.Token | None]] = {}


def _task_started(task_id=None, task=None, **_kwargs):
    # A message header the task was published with is an attribute of its request.
    carried = getattr(task.request, TASK_HEADER, None) if task is not None else None
    token = set_request_id(carried) if carried else None
    _task_state[task_id] = (time.perf_counter(), token)


def _task_finished(task_id=None, task=None, **_kwargs):
    started, token = _task_state.pop(task_id, (None, None))
    if started is not None and task is not None:
        TASK_DURATION.labels(task=task.name).observe(time.perf_counter() - started)
    if token is not None:
        reset_request_id(token)


def _task_failed(sender=None, **_kwargs):
    if sender is not None:
        TASK_FAILURES.labels(task=sender.name).inc()


def _serve_worker_metrics(**_kwargs):
    """A worker's own task series on PORTAL_METRICS_WORKER_PORT (internal network only: it
    has no token). With the prefork pool, set PROMETHEUS_MULTIPROC_DIR to a local directory so
    the pool processes' series add up (prometheus_client's multiprocess mode)."""
    port = settings.PORTAL_METRICS_WORKER_PORT
    if not (settings.PORTAL_METRICS_ENABLED and port):
        return
    import os

    from prometheus_client import start_http_server

    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    start_http_server(port, addr=settings.PORTAL_METRICS_WORKER_ADDRESS, registry=registry)


# --- Series read at scrape time ------------------------------------------------------------------


def record_ledger_check(problems: int) -> None:
    """Called by `verify_ledger`: its result, for the metrics of every host (the shared cache)."""
    cache.set(LEDGER_CACHE_KEY, {"problems": problems, "at": time.time()}, timeout=None)


def queue_depths() -> dict[str, int]:
    """Messages waiting in each of the portal's queues (Redis or the file-system broker)."""
    queues = settings.PORTAL_CELERY_QUEUES
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        return {queue: sum(1 for _ in folder.glob(f"*.{queue}.msg")) for queue in queues}
    if url.startswith(("redis://", "rediss://")):
        import redis
        from kombu.transport.redis import PRIORITY_STEPS

        prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            depths = {}
            for queue in queues:
                # kombu keeps one list per priority step: "<queue>" and "<queue>\x06\x16<n>".
                keys = [prefix + queue] + [f"{prefix}{queue}\x06\x16{step}" for step in PRIORITY_STEPS if step]
                depths[queue] = sum(client.llen(key) for key in keys)
            return depths
        finally:
            client.close()
    return {}


# Gauges that apps above this one register (in their AppConfig.ready): name -> (help, function
# returning the value, or None when there is none yet).
_GAUGES: dict[str, tuple[str, object]] = {}


def register_gauge(name: str, documentation: str, read) -> None:
    """Add a gauge read at each scrape; `read()` returns a number, or None to leave it out."""
    _GAUGES[name] = (documentation, read)


class PortalCollector:
    """The series read from shared state at each scrape."""

    def collect(self):
        depth = GaugeMetricFamily("portal_celery_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"])
        try:
            for queue, count in queue_depths().items():
                depth.add_metric([queue], count)
        except Exception as exc:  # the broker is down: the series is missing, healthz says why
            logger.warning("queue depth unavailable: %s", type(exc).__name__)
        yield depth

        for name, (documentation, read) in sorted(_GAUGES.items()):
            gauge = GaugeMetricFamily(name, documentation)
            reading = read()
            if reading is not None:
                gauge.add_metric([], reading)
            yield gauge

        ledger = cache.get(LEDGER_CACHE_KEY)
        problems = GaugeMetricFamily(
            "portal_ledger_problems", "Problems the last verify_ledger found (0: sound; absent: never run)."
        )
        checked = GaugeMetricFamily(
            "portal_ledger_last_check_timestamp_seconds", "When verify_ledger last ran (Unix time)."
        )
        if ledger is not None:
            problems.add_metric([], ledger["problems"])
            checked.add_metric([], ledger["at"])
        yield problems
        yield checked


_scrape_registry = CollectorRegistry(auto_describe=False)
_scrape_registry.register(PortalCollector())


def metrics_text() -> bytes:
    return generate_latest(REGISTRY) + generate_latest(_scrape_registry)


def _client_allowed(request) -> bool:
    token = settings.PORTAL_METRICS_TOKEN
    offered = request.headers.get("Authorization", "")
    if token and offered.startswith("Bearer ") and secrets.compare_digest(offered[7:].strip(), token):
        return True
    networks = settings.PORTAL_METRICS_ALLOWED_NETWORKS
    if networks:
        try:
            address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(network, strict=False) for network in networks)
    return False


@public
def metrics_view(request):
    """Prometheus' scrape: 404 unless enabled, 403 without the token or an allowed address."""
    if not settings.PORTAL_METRICS_ENABLED:
        raise Http404
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    if not _client_allowed(request):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    response = HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


# --- Logs ---------------------------------------------------------------------------------------


class RequestIdFilter(logging.Filter):
    """Put the current request id (or a task's carried one) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or current_request_id(),
            "process": record.process,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
