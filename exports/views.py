"""Export downloads and background export jobs.

`csv_export` and `xlsx_export` serve any registered dataset; the list pages mount them with
their dataset (e.g. /exports/customers.csv). A background job's page, its progress fragment
(polled by htmx) and its download are for the user who requested it only: anyone else gets a
404, as for any object outside their scope.
"""

from __future__ import annotations

import tempfile
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, HttpResponseRedirect, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from msp_portal import context
from msp_portal.permissions import Cap, capability_required, check_cap
from msp_portal.requests import safe_next_url, selected_ids

from .columns import resolve_columns
from .csv import CsvEncoding, ExportTally, queryset_csv_chunks
from .datasets import Dataset, get_dataset
from .models import ExportStatus
from .selectors import get_export_job_for_user
from .services import (
    export_audit,
    export_file_name,
    export_filters,
    export_job_start,
    export_storage,
    export_storage_is_local,
    export_xlsx_direct,
    needs_background,
)

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CHARSETS = {CsvEncoding.UTF8: "utf-8", CsvEncoding.CP932: "Windows-31J"}


def attachment_header(file_name: str) -> str:
    """Content-Disposition with both the plain and the RFC 5987 (UTF-8) file name."""
    ascii_name = file_name.encode("ascii", "replace").decode("ascii").replace('"', "")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file_name)}"


def csv_export(request, dataset: Dataset, params: QueryDict | None = None) -> StreamingHttpResponse:
    """Stream the user's view of the list (`params`, by default the request's query string) as
    CSV; `encoding=cp932` asks for Shift_JIS. The audit event is written when the stream ends,
    with the number of rows actually sent."""
    check_cap(request.user, dataset.capability)
    params = request.GET if params is None else params
    encoding = CsvEncoding.from_param(params.get("encoding"))
    queryset, columns = dataset.build(request.user, params)
    resolved = resolve_columns(columns)
    tally = ExportTally()
    chunks = queryset_csv_chunks(queryset, resolved, encoding=encoding, tally=tally)
    user = request.user
    filters = export_filters(params)
    # The stream is consumed after the view returned and the request's acting context ended.
    ip = context.current().ip

    def audited_stream():
        try:
            yield from chunks
        finally:
            extra = {"encoding": encoding.value, "completed": tally.completed}
            if encoding == CsvEncoding.CP932:
                extra["replaced_characters"] = tally.replaced_characters
            with context.acting(ip=ip, channel="web"):
                export_audit(user=user, dataset=dataset, format="csv", filters=filters, rows=tally.rows, extra=extra)

    response = StreamingHttpResponse(audited_stream(), content_type=f"text/csv; charset={CSV_CHARSETS[encoding]}")
    response["Content-Disposition"] = attachment_header(export_file_name(dataset, "csv"))
    response["Cache-Control"] = "no-store"
    return response


def xlsx_export(request, dataset: Dataset, params: QueryDict | None = None):
    """The user's view of the list as an Excel workbook: downloaded directly up to
    PORTAL_EXPORT_DIRECT_MAX_ROWS rows, otherwise written by a background job whose progress
    page the user is sent to."""
    check_cap(request.user, dataset.capability)
    params = request.GET if params is None else params
    queryset, columns = dataset.build(request.user, params)
    if needs_background(queryset):
        job = export_job_start(
            user=request.user, dataset=dataset, params=params, language=getattr(request, "LANGUAGE_CODE", "ja")
        )
        return redirect("exports:job", job_id=job.pk)
    # On disk, not in memory: the zip is assembled from openpyxl's temporary sheet files.
    # FileResponse closes (and so deletes) the temporary file once it has been sent.
    target = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115
    export_xlsx_direct(
        user=request.user, dataset=dataset, params=params, queryset=queryset, columns=columns, target=target
    )
    target.seek(0)
    response = FileResponse(target, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = attachment_header(export_file_name(dataset, "xlsx"))
    response["Cache-Control"] = "no-store"
    return response


def _job_context(job):
    dataset_url = ""
    try:
        dataset = get_dataset(job.dataset)
        if dataset.list_url_name:
            dataset_url = reverse(dataset.list_url_name)
            if job.query_string:
                dataset_url = f"{dataset_url}?{job.query_string}"
    except (LookupError, NoReverseMatch):
        dataset_url = ""
    return {
        "job": job,
        "downloadable": job.is_downloadable(),
        "list_url": dataset_url,
        "retention_hours": settings.PORTAL_EXPORT_RETENTION_HOURS,
        "ExportStatus": ExportStatus,
    }


@capability_required(Cap.CUSTOMERS_EXPORT, scope=(get_export_job_for_user, "job_id"))
@require_GET
def job_detail(request, job_id):
    job = get_export_job_for_user(request.user, job_id)
    return render(request, "exports/job_detail.html", _job_context(job))


@capability_required(Cap.CUSTOMERS_EXPORT, scope=(get_export_job_for_user, "job_id"))
@require_GET
def job_status(request, job_id):
    """The progress fragment the job page polls while the export runs."""
    job = get_export_job_for_user(request.user, job_id)
    return render(request, "exports/partials/job_status.html", _job_context(job))


@capability_required(Cap.CUSTOMERS_EXPORT, scope=(get_export_job_for_user, "job_id"))
@require_GET
def job_download(request, job_id):
    """The finished file, for the user who asked: streamed from the local file system, or a
    redirect to a presigned URL of the object-storage bucket, valid
    EXPORTS_DOWNLOAD_URL_SECONDS, whose response carries the file's name and type."""
    job = get_export_job_for_user(request.user, job_id)
    if job.status in (ExportStatus.QUEUED, ExportStatus.RUNNING):
        return redirect("exports:job", job_id=job.pk)
    storage = export_storage()
    if not job.is_downloadable(timezone.now()) or not storage.exists(job.file_path):
        # Expired (or failed): the page says so and offers the list to export again.
        return render(request, "exports/job_detail.html", _job_context(job), status=410)
    if export_storage_is_local(storage):
        response = FileResponse(storage.open(job.file_path, "rb"), content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = attachment_header(job.file_name)
    else:
        url = storage.url(
            job.file_path,
            parameters={
                "ResponseContentDisposition": attachment_header(job.file_name),
                "ResponseContentType": XLSX_CONTENT_TYPE,
                "ResponseCacheControl": "no-store",
            },
            expire=settings.EXPORTS_DOWNLOAD_URL_SECONDS,
        )
        response = HttpResponseRedirect(url)
    response["Cache-Control"] = "no-store"
    return response


# --- the customer list's exports -----------------------------------------------------


@capability_required(Cap.CUSTOMERS_EXPORT)
@require_GET
def customers_csv(request):
    """CSVダウンロード: the list as filtered and sorted in the query string."""
    return csv_export(request, get_dataset("customers"))


@capability_required(Cap.CUSTOMERS_EXPORT)
@require_GET
def customers_xlsx(request):
    """EXCELダウンロード: the list as filtered and sorted in the query string."""
    return xlsx_export(request, get_dataset("customers"))


def _selected_params(request) -> tuple[QueryDict | None, str]:
    """The list's parameters (from the bulk form's `next`, the list URL it was posted from)
    plus the selected ids; None when nothing was selected. Also where to go back."""
    back = safe_next_url(request, reverse("customers:list"))
    ids = selected_ids(request)
    if not ids:
        return None, back
    params = QueryDict(urlsplit(back).query, mutable=True)
    params.setlist("ids", [str(pk) for pk in ids])
    return params, back


@capability_required(Cap.CUSTOMERS_EXPORT)
@require_POST
def customers_selected_csv(request):
    """選択実行 → export selected (CSV): the selected rows, in the list's order."""
    params, back = _selected_params(request)
    if params is None:
        messages.error(request, _("Select at least one customer account to export."))
        return redirect(back)
    return csv_export(request, get_dataset("customers"), params)


@capability_required(Cap.CUSTOMERS_EXPORT)
@require_POST
def customers_selected_xlsx(request):
    """選択実行 → export selected (Excel): the selected rows, in the list's order."""
    params, back = _selected_params(request)
    if params is None:
        messages.error(request, _("Select at least one customer account to export."))
        return redirect(back)
    return xlsx_export(request, get_dataset("customers"), params)
