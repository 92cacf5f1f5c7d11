"""The image and the compose stack, checked without a container engine: docker-compose.yml is
built from the Dockerfile, starts the processes with the commands the two-node test starts
(topology.py), one worker service per queue, with health checks; the Dockerfile builds a
non-root image with translations compiled and static files collected. CI lints the
Dockerfile too (dockerfilelint in .ci/run)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from django.conf import settings

from .topology import (
    BEAT_COMMAND,
    HEALTH_PATH,
    MIGRATE_COMMAND,
    WEB_COMMAND,
    WORKER_PING,
    WORKER_QUEUES,
    worker_command,
)

ROOT = Path(settings.BASE_DIR)


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def portal_services(spec: dict) -> dict:
    return {name: service for name, service in spec["services"].items() if service.get("build")}


def test_the_portal_services_are_built_from_the_image_and_never_install_at_start():
    spec = compose()
    services = portal_services(spec)
    assert set(services) == {"migrate", "web", "beat", *WORKER_QUEUES}
    for name, service in services.items():
        assert service["build"] == ".", name
        assert service["image"] == "msp-portal:latest", name
        command = service["command"]
        assert isinstance(command, list), f"{name}: exec form, no shell"
        assert "pip" not in " ".join(command), name
        # No bind mount of the source: the code is in the image.
        assert not any(str(volume).startswith((".", "/")) for volume in service.get("volumes", [])), name


def test_the_commands_are_those_of_the_two_node_test():
    services = compose()["services"]
    assert services["web"]["command"] == WEB_COMMAND
    assert services["migrate"]["command"] == MIGRATE_COMMAND
    assert services["beat"]["command"] == BEAT_COMMAND
    for name, queue in WORKER_QUEUES.items():
        assert services[name]["command"] == worker_command(queue)
    assert set(WORKER_QUEUES.values()) == set(settings.PORTAL_CELERY_QUEUES)


def test_web_and_workers_have_health_checks():
    services = compose()["services"]
    web = services["web"]["healthcheck"]["test"]
    assert web[0] == "CMD" and f"http://127.0.0.1:8000{HEALTH_PATH}" in " ".join(web)
    assert "8000:8000" in services["web"]["ports"]
    assert "0.0.0.0:8000" in (ROOT / "gunicorn.conf.py").read_text()
    for name in WORKER_QUEUES:
        assert services[name]["healthcheck"]["test"] == ["CMD-SHELL", WORKER_PING], name
    for name in ("db", "redis"):
        assert services[name]["healthcheck"]["test"], name


def test_the_portal_waits_for_the_database_redis_and_the_migration():
    services = compose()["services"]
    for name in ("web", "beat", *WORKER_QUEUES):
        depends = services[name]["depends_on"]
        assert depends["db"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        assert depends["migrate"]["condition"] == "service_completed_successfully", name


def test_the_dockerfile_builds_a_slim_non_root_image_with_messages_and_static_files():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.MULTILINE)
    users = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert "compilemessages" in text and "collectstatic --noinput" in text
    assert "requirements.txt" in text
    (cmd,) = re.findall(r"^CMD (\[.*\])$", text, re.MULTILINE)
    assert yaml.safe_load(cmd) == WEB_COMMAND
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "var", ".env"} <= set(ignored)


def test_the_runtime_requirements_the_image_installs_include_what_the_processes_need():
    # The Dockerfile installs requirements.txt up to its first blank line.
    runtime = (ROOT / "requirements.txt").read_text().split("\n\n", 1)[0]
    names = {line.split("==")[0].split("[")[0].lower() for line in runtime.splitlines() if "==" in line}
    assert {
        "django",
        "gunicorn",
        "celery",
        "redis",
        "psycopg",
        "django-storages",
        "boto3",
        "prometheus-client",
    } <= names
    assert not names & {"pytest", "moto", "playwright", "ruff"}
