"""The operator's job pages, and the old addresses of the two cancellation popups (解約,
解約予定日設定), which the customers app serves now."""

from __future__ import annotations

from django.db.models import Count, Sum
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET
from django_tables2 import RequestConfig

from msp_portal.permissions import Cap, capability_required

from .models import JobRun
from .tables import JobRunTable


@capability_required(Cap.JOBS_VIEW)
@require_GET
def run_list(request):
    table = JobRunTable(JobRun.objects.all())
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    return render(request, "billing_jobs/run_list.html", {"table": table})


@capability_required(Cap.JOBS_VIEW)
@require_GET
def run_detail(request, pk: int):
    job = get_object_or_404(JobRun, pk=pk)
    chunk_summary = list(
        job.chunks.values("period", "status")
        .order_by("period", "status")
        .annotate(n=Count("id"), charged=Sum("charged"), points=Sum("points"))
    )
    failed_chunks = job.chunks.filter(status="failed")[:100]
    return render(
        request,
        "billing_jobs/run_detail.html",
        {"job": job, "chunk_summary": chunk_summary, "failed_chunks": failed_chunks},
    )
