import datetime as dt

import pytest
import time_machine
from celery.schedules import crontab

from billing_jobs.models import JobRun, JobStatus
from billing_jobs.tasks import billing_scan
from msp_portal.celery import app

from .factories import active_customer, at, consumptions

pytestmark = pytest.mark.django_db

D = dt.date


def test_beat_triggers_the_scan_hourly_in_tokyo_time():
    entry = app.conf.beat_schedule["billing-scan-hourly"]
    assert entry["task"] == billing_scan.name
    assert entry["schedule"] == crontab(minute=5)
    assert app.conf.timezone == "Asia/Tokyo"


def test_the_scan_runs_today_once_and_later_scans_do_nothing(msp_org, django_capture_on_commit_callbacks):
    customer = active_customer(msp_org, activated=at(D(2026, 10, 26)))
    with (
        time_machine.travel(at(D(2026, 11, 25), 0, 5), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        first = billing_scan()
    with time_machine.travel(at(D(2026, 11, 25), 1, 5), tick=False):
        assert billing_scan() is None
    job = JobRun.objects.get(pk=first)
    assert (job.run_date, job.status, job.triggered_by) == (D(2026, 11, 25), JobStatus.SUCCEEDED, "beat")
    assert consumptions(customer).count() == 1


def test_a_failed_or_stuck_run_is_retried_by_a_later_scan(msp_org, django_capture_on_commit_callbacks):
    JobRun.objects.create(
        kind="daily", run_date=D(2026, 11, 25), status=JobStatus.FAILED, started_at=at(D(2026, 11, 25), 0, 5)
    )
    stuck = JobRun.objects.create(
        kind="daily", run_date=D(2026, 11, 25), periods=["2026-11"], started_at=at(D(2026, 11, 25), 1, 5)
    )
    with time_machine.travel(at(D(2026, 11, 25), 1, 30), tick=False):
        assert billing_scan() is None  # one still in progress, started within the hour
    with (
        time_machine.travel(at(D(2026, 11, 25), 2, 10), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert billing_scan() is not None
    stuck.refresh_from_db()
    assert stuck.status == JobStatus.SUPERSEDED
