"""The run through a real Redis broker and a real Celery worker process: it fans out and
completes; a worker killed with SIGKILL mid-run, restarted and the run repeated leaves exactly
one charge per eligible account."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

from billing_jobs.models import JobRun, JobRunChunk, JobStatus
from billing_jobs.selectors import latest_due_period, missing_charges
from customers.models import CustomerAccount
from msp_portal import dates

from .factories import assert_ledger_consistent, consumptions

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHUNK_SIZE = 20
TIMEOUT = 180


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    def __init__(self, broker_url: str):
        self.broker_url = broker_url
        self.process: subprocess.Popen | None = None
        handle, self.log_path = tempfile.mkstemp(prefix="billing-worker-", suffix=".log")
        os.close(handle)

    def start(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": self.broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "PORTAL_BILLING_CHUNK_SIZE": str(CHUNK_SIZE),
            "EMAIL_URL": "consolemail://",
        }
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "msp_portal",
                    "worker",
                    "--pool=solo",
                    "--loglevel=INFO",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=Path(settings.BASE_DIR),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL the worker's whole process group: no warm shutdown, no acknowledgement."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None

    def output(self) -> str:
        return Path(self.log_path).read_text(errors="replace")[-4000:]


@pytest.fixture
def broker_url():
    """A Redis database of its own for the broker: REDIS_URL's database is the Django cache,
    which other tests clear (FLUSHDB) while this one runs."""
    import redis

    url = os.environ.get("CELERY_TEST_BROKER_URL") or re.sub(r"(/\d+)?$", "/15", os.environ["REDIS_URL"], count=1)
    redis.Redis.from_url(url).flushdb()  # no messages left over from an earlier killed run
    return url


@pytest.fixture
def worker(broker_url):
    worker = Worker(broker_url)
    yield worker
    worker.kill()
    os.unlink(worker.log_path)


def _wait_for(predicate, worker: Worker, what: str, interval: float = 0.02):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{worker.output()}")


def _enqueue_run(broker_url: str, run_date: dt.date) -> None:
    # Not the current app: later tests in this process must keep resolving tasks in the portal's app.
    producer = Celery(broker=broker_url, set_as_current=False)
    producer.send_task("billing_jobs.tasks.run_daily_billing", args=[run_date.isoformat(), "test"])
    producer.close()


def _newest_run_after(known: set[int]) -> JobRun | None:
    return JobRun.objects.exclude(pk__in=known).order_by("-pk").first()


def _accounts(organization, count: int, activated: dt.datetime) -> None:
    from customers.tests.factories import CustomerAccountFactory

    CustomerAccountFactory.create_batch(count, organization=organization, activated_at=activated, contracted_users=12)


def test_the_run_fans_out_over_a_worker_and_survives_a_sigkill_mid_run(worker, broker_url, msp_org, other_msp_org):
    run_date = dates.charge_date(latest_due_period(dates.today()))
    activated = dates.start_of_day(run_date - dt.timedelta(days=20))
    _accounts(msp_org, 200, activated)
    _accounts(other_msp_org, 100, activated)

    worker.start()
    _enqueue_run(broker_url, run_date)
    first = _wait_for(lambda: JobRun.objects.filter(status=JobStatus.SUCCEEDED).first(), worker, "the first run")
    assert first.chunks_total > 1 and first.chunks_done == first.chunks_total
    assert first.counts["charged"][dates.period_of(run_date)] == {"accounts": 300, "points": 300 * 12}
    assert consumptions().count() == 300

    # More accounts owe the same 25th; kill the worker once the run is under way.
    _accounts(msp_org, 1200, activated)
    _accounts(other_msp_org, 600, activated)
    known = {first.pk}
    _enqueue_run(broker_url, run_date)
    second = _wait_for(lambda: _newest_run_after(known), worker, "the second run to start")
    _wait_for(
        lambda: JobRunChunk.objects.filter(job_run=second, status="done", charged__gt=0).exists(),
        worker,
        "a chunk of the second run",
        interval=0.005,
    )
    worker.kill()
    second.refresh_from_db()
    assert second.status == JobStatus.RUNNING
    assert second.chunks_done < second.chunks_total, "the run must have been interrupted mid-way"
    assert 0 < consumptions().count() - 300 < 1800

    worker.start()
    known.add(second.pk)
    _enqueue_run(broker_url, run_date)
    third = _wait_for(lambda: _newest_run_after(known), worker, "the repeated run to start")
    _wait_for(
        lambda: JobRun.objects.filter(pk=third.pk, status=JobStatus.SUCCEEDED).exists(), worker, "the repeated run"
    )
    worker.kill()

    eligible = CustomerAccount.objects.count()
    assert eligible == 2100
    charges = consumptions(period=dates.period_of(run_date))
    assert charges.count() == eligible
    assert charges.values("customer").distinct().count() == eligible
    # The interrupted run is left running, superseded by the repeat, or completed by the
    # restarted worker from its queued chunks: never failed, never double-charging.
    assert JobRun.objects.get(pk=second.pk).status != JobStatus.FAILED
    assert_ledger_consistent()
    assert missing_charges(run_date) == []
