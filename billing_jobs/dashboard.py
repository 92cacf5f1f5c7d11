"""The operator's dashboard panel of the runs (registered in apps.py): the latest ones, failed
first to the eye, each linked to its page."""

from __future__ import annotations

from .models import JobRun, JobStatus

LATEST_RUNS = 5


def last_runs_panel(request) -> dict | None:
    runs = list(JobRun.objects.order_by("-started_at", "-id")[:LATEST_RUNS])
    if not runs:
        return None
    return {"runs": runs, "failed": any(run.status == JobStatus.FAILED for run in runs)}
