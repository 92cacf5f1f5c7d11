"""Queues: the 25th's work, exports and everything else are routed apart by task name, in one
place (settings.CELERY_TASK_ROUTES); a task nobody routed goes to `default`."""

from __future__ import annotations

from django.conf import settings

from msp_portal import devserver
from msp_portal.celery import app

from .test_celery_tasks import PINNED_TASK_NAMES

EXPECTED = {
    "billing_jobs.tasks.billing_scan": "billing",
    "billing_jobs.tasks.run_daily_billing": "billing",
    "billing_jobs.tasks.charge_chunk": "billing",
    "billing_jobs.tasks.finish_run": "billing",
    "exports.tasks.run_export_job": "exports",
    "exports.tasks.expire_exports": "exports",
    "billing_jobs.tasks.send_shortage_reminder": "default",
    "accounts.tasks.provision_customer": "default",
    "webhooks.tasks.send_delivery": "default",
    "webhooks.tasks.retry_due_deliveries": "default",
}


def queue_of(task_name: str) -> str:
    return app.amqp.router.route({}, task_name)["queue"].name


def test_every_pinned_task_has_its_queue():
    assert set(EXPECTED) == PINNED_TASK_NAMES
    assert {name: queue_of(name) for name in PINNED_TASK_NAMES} == EXPECTED


def test_a_task_of_an_app_added_later_goes_to_default():
    assert queue_of("webhooks.tasks.deliver") == "default"
    assert queue_of("api.tasks.anything") == "default"


def test_the_queues_are_the_three_named():
    assert set(EXPECTED.values()) == set(settings.PORTAL_CELERY_QUEUES) == {"billing", "exports", "default"}


def test_make_runs_single_worker_consumes_every_queue():
    worker = devserver.commands("127.0.0.1:8000")["worker"]
    (queues,) = [part.split("=", 1)[1] for part in worker if part.startswith("--queues=")]
    assert set(queues.split(",")) == set(settings.PORTAL_CELERY_QUEUES)


def test_a_worker_without_queues_consumes_all_three_and_the_queue_of_older_releases():
    assert [queue.name for queue in app.conf.task_queues] == ["billing", "exports", "default", "celery"]
