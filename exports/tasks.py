"""Background exports: thin tasks over exports.services."""

from __future__ import annotations

from celery import shared_task

from msp_portal.context import acting

from . import services


@shared_task(name="exports.tasks.run_export_job", acks_late=True)
def run_export_job(job_id: str) -> str:
    """Write one queued export. Redelivery after a lost worker restarts it from the first row;
    a finished job is left alone."""
    with acting(channel="job"):
        return services.export_job_run(job_id=job_id).status


@shared_task(name="exports.tasks.expire_exports")
def expire_exports() -> int:
    """Periodic: delete the files of expired exports (the job rows stay as history)."""
    with acting(channel="job"):
        return services.export_jobs_expire()
