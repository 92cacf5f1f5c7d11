"""A broker of its own for a test that starts Celery workers: a Redis database apart from the
one billing_jobs/tests/test_worker_redis.py flushes (CELERY_TEST_BROKER_URL's number + 1),
and a key prefix of its own (kombu's global_keyprefix, CELERY_BROKER_KEY_PREFIX in the
settings), so tests running at once under pytest-xdist never see each other's messages. Only
the test's own keys are deleted afterwards."""

from __future__ import annotations

import os
import re
import uuid

import pytest
from celery import Celery
from django.conf import settings


def _base_url() -> str:
    return os.environ.get("CELERY_TEST_BROKER_URL") or re.sub(r"(/\d+)?$", "/14", os.environ["REDIS_URL"], count=1)


class Broker:
    def __init__(self):
        base = _base_url()
        match = re.search(r"/(\d+)$", base)
        number = (int(match.group(1)) + 1) % 16 if match else 1
        self.url = re.sub(r"(/\d+)?$", f"/{number}", base, count=1)
        self.prefix = f"test-{uuid.uuid4().hex[:12]}:"

    def env(self) -> dict[str, str]:
        return {"CELERY_BROKER_URL": self.url, "CELERY_BROKER_KEY_PREFIX": self.prefix}

    def producer(self) -> Celery:
        """A Celery app that publishes as the portal does (its routes), to this broker. Not the
        current app: later tests in this process keep resolving tasks in the portal's app."""
        app = Celery(broker=self.url, set_as_current=False)
        app.conf.broker_transport_options = {"global_keyprefix": self.prefix}
        app.conf.task_routes = settings.CELERY_TASK_ROUTES
        app.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE
        return app

    def cleanup(self) -> None:
        import redis

        client = redis.Redis.from_url(self.url)
        keys = list(client.scan_iter(match=f"{self.prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture
def broker():
    broker = Broker()
    yield broker
    broker.cleanup()
