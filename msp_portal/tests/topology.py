"""The processes of a multi-host deployment, as docker-compose.yml starts them and the two-node
test starts them on loopback (msp_portal/tests/test_compose.py holds the two to the same
commands). Worker services differ only by their queues."""

from __future__ import annotations

WEB_COMMAND = ["gunicorn", "--config", "gunicorn.conf.py", "msp_portal.wsgi"]
WORKER_COMMAND = ["celery", "-A", "msp_portal", "worker", "--loglevel=INFO"]
BEAT_COMMAND = ["celery", "-A", "msp_portal", "beat", "--loglevel=INFO", "--schedule=/tmp/celerybeat-schedule"]
MIGRATE_COMMAND = ["python", "manage.py", "migrate", "--noinput"]
HEALTH_PATH = "/healthz"
# A worker answers Celery's ping addressed to its own node name ($$ is compose's escape for $).
WORKER_PING = "celery -A msp_portal inspect ping --destination celery@$$HOSTNAME --timeout 10"
# One worker service per queue (settings.PORTAL_CELERY_QUEUES).
WORKER_QUEUES = {"worker-billing": "billing", "worker-exports": "exports", "worker-default": "default"}


def worker_command(queues: str) -> list[str]:
    return [*WORKER_COMMAND, f"--queues={queues}"]
