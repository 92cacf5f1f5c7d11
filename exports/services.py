"""Exports: direct downloads, background jobs, their audit and their expiry (DESIGN.md §8).

Every export is audited as "<dataset>.export" with its format, the filters it applied and the
number of rows written. Files of background jobs are kept in the storage named "exports"
(settings.STORAGES: MEDIA_ROOT/exports/ on the local file system, or an object-storage bucket
shared by every web and worker host), never served as static media: only the download view
hands them out. They are deleted when they expire; the job rows stay as history.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from audit.services import audit_record
from msp_portal.dates import TOKYO
from msp_portal.errors import DomainError
from msp_portal.permissions import has_cap

from .columns import bounded_count, iter_rows, resolve_columns
from .datasets import Dataset, get_dataset
from .models import ACTIVE_STATUSES, ExportFormat, ExportJob, ExportStatus
from .xlsx import write_xlsx

logger = logging.getLogger(__name__)

# Query parameters that shape the page or the file, not the rows.
NON_FILTER_PARAMS = frozenset({"page", "per_page", "encoding", "format"})
EXPORT_SUBDIR = "exports"
# How often (in rows) a background job records its progress.
PROGRESS_EVERY = 5000


def export_filters(params: QueryDict) -> dict[str, str | list[str]]:
    """The parameters that chose the rows, for the audit event and the job page. A NUL is
    recorded as U+FFFD: PostgreSQL cannot store one, not even inside JSON."""
    filters: dict[str, str | list[str]] = {}
    for key in sorted(params.keys()):
        if key in NON_FILTER_PARAMS:
            continue
        values = [_storable(value) for value in params.getlist(key) if value != ""]
        if values:
            filters[_storable(key)] = values[0] if len(values) == 1 else values
    return filters


def _storable(text: str) -> str:
    return text.replace("\x00", "\ufffd")


def export_file_name(dataset: Dataset, extension: str, now: dt.datetime | None = None) -> str:
    """`<stem>_YYYYMMDD_HHMM.<extension>`, in Tokyo time."""
    local = (now or timezone.now()).astimezone(TOKYO)
    return f"{dataset.file_stem}_{local:%Y%m%d_%H%M}.{extension}"


def export_audit(
    *,
    user,
    dataset: Dataset,
    format: str,
    filters: dict,
    rows: int,
    job: ExportJob | None = None,
    extra: dict | None = None,
) -> None:
    """Record who exported which list, with which filters, how many rows."""
    after = {"format": format, "filters": filters, "rows": rows, **(extra or {})}
    audit_record(actor=user, action=f"{dataset.name}.export", obj=job, after=after)


def needs_background(queryset) -> bool:
    """Whether an Excel export is larger than a direct download may be (a bounded count)."""
    limit = settings.PORTAL_EXPORT_DIRECT_MAX_ROWS
    return bounded_count(queryset, limit) > limit


def export_xlsx_direct(*, user, dataset: Dataset, params: QueryDict, queryset, columns, target: IO[bytes]) -> int:
    """Write `queryset` (the dataset built for `user` and `params`) as a workbook into
    `target`, audit it, and return the number of rows. For exports at or below
    PORTAL_EXPORT_DIRECT_MAX_ROWS."""
    resolved = resolve_columns(columns)
    rows = write_xlsx(iter_rows(queryset, resolved), resolved, target, title=str(dataset.sheet_title))
    export_audit(user=user, dataset=dataset, format=ExportFormat.XLSX, filters=export_filters(params), rows=rows)
    return rows


def export_job_start(*, user, dataset: Dataset, params: QueryDict, language: str) -> ExportJob:
    """Queue a background Excel export of the user's view of the dataset and return its job.

    The same export (same user, list and query) still queued or running is returned instead
    of a second one, so a double click starts one job. The worker re-applies the query with
    the user's permissions at run time."""
    from .tasks import run_export_job

    query_string = params.urlencode()
    existing = (
        ExportJob.objects.filter(
            requested_by=user, dataset=dataset.name, query_string=query_string, status__in=ACTIVE_STATUSES
        )
        .order_by("-created_at")
        .first()
    )
    if existing is not None:
        return existing
    job = ExportJob.objects.create(
        requested_by=user,
        organization=user.organization,
        dataset=dataset.name,
        format=ExportFormat.XLSX,
        query_string=query_string,
        filters=export_filters(params),
        language=language,
    )
    transaction.on_commit(lambda: run_export_job.delay(str(job.pk)))
    return job


def export_storage() -> Storage:
    """Where the files of background exports are kept (settings.STORAGES["exports"])."""
    return storages["exports"]


def export_storage_is_local(storage: Storage | None = None) -> bool:
    return isinstance(storage or export_storage(), FileSystemStorage)


def export_directory() -> Path:
    return Path(settings.MEDIA_ROOT) / EXPORT_SUBDIR


def _store_export_file(storage: Storage, name: str, local_path: Path) -> str:
    """Put the finished workbook at `name` in the storage, replacing the file of an earlier
    delivery of the same job, and return the name it was stored under."""
    if export_storage_is_local(storage) and storage.exists(name):
        storage.delete(name)
    with local_path.open("rb") as handle:
        return storage.save(name, File(handle, name=os.path.basename(name)))


def export_job_run(*, job_id) -> ExportJob:
    """Run a queued background export: write the workbook (recording progress every
    PROGRESS_EVERY rows) in this host's temporary directory, store it in the exports storage,
    then mark the job done with its expiry and audit it. A job already finished is left
    alone, so a redelivered task does nothing; a job interrupted while running starts again
    from the first row. A failure marks the job failed with a message for the user and leaves
    no file, partial or whole, in the storage or on the worker."""
    job = ExportJob.objects.select_related("requested_by").get(pk=job_id)
    if job.status not in ACTIVE_STATUSES:
        return job
    started = timezone.now()
    ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.RUNNING, started_at=started, rows_done=0, error="")
    storage = export_storage()
    handle, partial_name = tempfile.mkstemp(prefix=f"export-{job.pk}-", suffix=".xlsx.part")
    os.close(handle)
    partial_path = Path(partial_name)
    user = job.requested_by
    # Headers, labels and the error message are in the language of the user who asked.
    with translation.override(job.language):
        try:
            dataset = get_dataset(job.dataset)
            if not user.is_active or not has_cap(user, dataset.capability):
                raise DomainError(_("You are no longer allowed to export this list."))
            queryset, columns = dataset.build(user, QueryDict(job.query_string))
            resolved = resolve_columns(columns)
            # An exact total for the progress bar: one count, negligible beside reading and
            # writing every row, and this runs in a worker, not in a request.
            total = queryset.order_by().count()
            ExportJob.objects.filter(pk=job.pk).update(rows_total=total)
            rows = write_xlsx(
                iter_rows(queryset, resolved),
                resolved,
                str(partial_path),
                title=str(dataset.sheet_title),
                progress=lambda done: ExportJob.objects.filter(pk=job.pk).update(rows_done=done),
                progress_every=PROGRESS_EVERY,
            )
            relative = _store_export_file(storage, f"{EXPORT_SUBDIR}/{job.pk}.xlsx", partial_path)
            file_size = storage.size(relative)
        except Exception as exc:
            if isinstance(exc, DomainError):
                message = str(exc)
            else:
                logger.exception("Export job %s failed", job.pk)
                message = _("The export failed. Please try again; if it fails again, contact the operator.")
            ExportJob.objects.filter(pk=job.pk).update(
                status=ExportStatus.FAILED, error=message, finished_at=timezone.now()
            )
            job.refresh_from_db()
            return job
        finally:
            partial_path.unlink(missing_ok=True)
    file_name = export_file_name(dataset, "xlsx", started)
    now = timezone.now()
    with transaction.atomic():
        job.status = ExportStatus.DONE
        job.rows_done = rows
        job.rows_total = rows
        job.file_path = relative
        job.file_name = file_name
        job.file_size = file_size
        job.started_at = started
        job.finished_at = now
        job.expires_at = now + dt.timedelta(hours=settings.PORTAL_EXPORT_RETENTION_HOURS)
        job.error = ""
        job.save(
            update_fields=[
                "status",
                "rows_done",
                "rows_total",
                "file_path",
                "file_name",
                "file_size",
                "started_at",
                "finished_at",
                "expires_at",
                "error",
            ]
        )
        export_audit(user=user, dataset=dataset, format=job.format, filters=job.filters, rows=rows, job=job)
    # With the request id of the request that queued it (msp_portal.observability).
    logger.info("Export job %s written: %s rows, %s bytes", job.pk, rows, file_size)
    return job


def export_jobs_expire(*, now: dt.datetime | None = None) -> int:
    """Delete the files of finished exports past their expiry (from the file system or the
    object-storage bucket) and mark those jobs expired (the rows stay as history), and remove
    partial files that a crashed worker of an earlier version left under MEDIA_ROOT longer ago
    than the retention time. Returns the number of jobs expired."""
    now = now or timezone.now()
    expired = 0
    storage = export_storage()
    due = ExportJob.objects.filter(status=ExportStatus.DONE, expires_at__lte=now)
    for job in due.iterator(chunk_size=500):
        if job.file_path:
            storage.delete(job.file_path)
        job.status = ExportStatus.EXPIRED
        job.file_path = ""
        job.save(update_fields=["status", "file_path"])
        expired += 1
    directory = export_directory()
    if directory.is_dir():
        cutoff = time.time() - settings.PORTAL_EXPORT_RETENTION_HOURS * 3600
        for leftover in directory.glob("*.part"):
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink(missing_ok=True)
    return expired
