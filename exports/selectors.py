"""Reads of export jobs: a user sees only the exports they requested."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.http import Http404

from .models import ExportJob


def export_jobs_of(user) -> QuerySet[ExportJob]:
    return ExportJob.objects.filter(requested_by=user)


def get_export_job_for_user(user, job_id) -> ExportJob:
    """The user's own export `job_id`; anyone else's, or none, is a 404."""
    try:
        return export_jobs_of(user).get(pk=uuid.UUID(str(job_id)))
    except (ExportJob.DoesNotExist, ValueError):
        raise Http404 from None
