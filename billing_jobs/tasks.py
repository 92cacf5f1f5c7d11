"""Celery entry points of the billing jobs: thin wrappers around billing_jobs.services.

Every task is safe to run twice (acks_late + reject_on_worker_lost redeliver a task whose worker
died): chunks post only what is missing, and the run's bookkeeping moves forward only once.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.db import DatabaseError

from msp_portal import context, dates

from . import services
from .emails import send_shortage_reminder

logger = logging.getLogger(__name__)


@shared_task(name="billing_jobs.tasks.billing_scan")
def billing_scan() -> int | None:
    """The hourly trigger: start today's run (Asia/Tokyo) unless it already succeeded."""
    today = dates.today()
    if not services.should_run_today(today):
        return None
    return services.run_billing(today, inline=False, triggered_by="beat").pk


@shared_task(name="billing_jobs.tasks.run_daily_billing")
def run_daily_billing_task(run_date: str, triggered_by: str = "") -> int:
    return services.run_billing(dt.date.fromisoformat(run_date), inline=False, triggered_by=triggered_by).pk


@shared_task(bind=True, name="billing_jobs.tasks.charge_chunk", max_retries=5)
def charge_chunk_task(self, chunk_id: int) -> None:
    try:
        services.run_chunk(chunk_id)
    except DatabaseError as exc:
        # Lock timeouts, deadlocks, a lost connection: the chunk is all-or-nothing, try again.
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 1)) from exc
        services.chunk_failed(chunk_id, exc)
    except Exception as exc:  # a bug or bad data: recorded on the run, the other chunks go on
        logger.exception("Billing chunk %s failed", chunk_id)
        services.chunk_failed(chunk_id, exc)
    _finish_if_last(chunk_id)


def _finish_if_last(chunk_id: int) -> None:
    from .models import JobRunChunk

    job_id = JobRunChunk.objects.values_list("job_run_id", flat=True).get(pk=chunk_id)
    if services.mark_finishing(job_id):
        finish_run_task.delay(job_id)


@shared_task(name="billing_jobs.tasks.finish_run")
def finish_run_task(job_id: int) -> None:
    with context.acting(channel="job"):
        services.finish_run(job_id)


@shared_task(bind=True, name="billing_jobs.tasks.send_shortage_reminder", max_retries=5)
def send_shortage_reminder_task(self, reminder_id: int) -> int:
    try:
        return send_shortage_reminder(reminder_id)
    except OSError as exc:  # the mail server is unreachable: try again later
        raise self.retry(exc=exc, countdown=60 * (self.request.retries + 1)) from exc
