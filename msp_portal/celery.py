"""The Celery application. Tasks live in each app's tasks.py; the beat schedule is defined once,
in billing_jobs/schedule.py, and read from the Django settings namespace.

Every task pins its name (`@shared_task(name=...)`): queued messages and beat entries name a task
by that string, so moving or renaming its module must not change it
(msp_portal/tests/test_celery_tasks.py holds the list)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "msp_portal.settings")

app = Celery("msp_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

from billing_jobs.schedule import BEAT_SCHEDULE  # noqa: E402  (needs no Django setup)

app.conf.beat_schedule = BEAT_SCHEDULE

from msp_portal.observability import connect_celery_signals  # noqa: E402

# Task runtime and failures for /metrics; the request id carried from web to task in a header.
connect_celery_signals()
