"""Queued tasks and beat entries name a task by a string; a task that changes its name (a
module moved or renamed, with Celery's default "<module>.<function>") orphans them. Every task
pins its name, and the names never change."""

from __future__ import annotations

import ast

from msp_portal.celery import app

from .source import project_apps, project_modules

# The names queued tasks and the beat schedule carry today. Add to this list; never rename.
PINNED_TASK_NAMES = {
    "accounts.tasks.provision_customer",
    "billing_jobs.tasks.billing_scan",
    "billing_jobs.tasks.charge_chunk",
    "billing_jobs.tasks.finish_run",
    "billing_jobs.tasks.run_daily_billing",
    "billing_jobs.tasks.send_shortage_reminder",
    "exports.tasks.expire_exports",
    "exports.tasks.run_export_job",
    "webhooks.tasks.retry_due_deliveries",
    "webhooks.tasks.send_delivery",
}


def _is_task_decorator(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
    return name in {"shared_task", "task"}


def _declared_tasks() -> list[tuple[str, str, str | None]]:
    """(module path, function, the `name=` given or None) of every task decorator."""
    declared = []
    for module in project_modules():
        for node in ast.walk(module.tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for decorator in node.decorator_list:
                if not _is_task_decorator(decorator):
                    continue
                name = None
                if isinstance(decorator, ast.Call):
                    for keyword in decorator.keywords:
                        if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                            name = keyword.value.value
                declared.append((module.path, node.name, name))
    return declared


def _registered_project_tasks() -> set[str]:
    app.loader.import_default_modules()
    apps = tuple(f"{label}." for label in project_apps())
    return {name for name, task in app.tasks.items() if task.__module__.startswith(apps)}


def test_every_task_declares_its_name():
    declared = _declared_tasks()
    assert declared
    assert [(path, function) for path, function, name in declared if name is None] == []


def test_the_declared_names_are_the_pinned_ones():
    assert {name for _path, _function, name in _declared_tasks()} == PINNED_TASK_NAMES


def test_the_registered_project_tasks_are_the_pinned_ones():
    assert _registered_project_tasks() == PINNED_TASK_NAMES


def test_every_beat_entry_names_a_pinned_task():
    assert {entry["task"] for entry in app.conf.beat_schedule.values()} <= PINNED_TASK_NAMES
