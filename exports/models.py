"""Background exports: one row per export too large to download directly (DESIGN.md §8).

The rows are the history of background exports and are kept; the files they point to are
deleted when they expire (`expire_exports`), and the row then says so.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")


ACTIVE_STATUSES = (ExportStatus.QUEUED, ExportStatus.RUNNING)


class ExportFormat(models.TextChoices):
    XLSX = "xlsx", _("Excel")


class ExportJob(models.Model):
    """An export running (or run) in the background for one user, downloadable by that user
    only until `expires_at`."""

    # A random id: the URL of an export does not reveal how many exports exist.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    organization = models.ForeignKey(
        "accounts.Organization", verbose_name=_("organization"), on_delete=models.PROTECT, related_name="+"
    )
    dataset = models.CharField(_("list"), max_length=40)
    format = models.CharField(_("format"), max_length=8, choices=ExportFormat.choices, default=ExportFormat.XLSX)
    # The list's URL query string exactly as the user had it, re-applied by the worker.
    query_string = models.TextField(_("query string"), blank=True)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    # The language the headers and labels are written in: the requesting user's at the time.
    language = models.CharField(_("language"), max_length=8, default="ja")
    status = models.CharField(_("status"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    rows_total = models.BigIntegerField(_("rows"), null=True, blank=True)
    rows_done = models.BigIntegerField(_("rows written"), default=0)
    # The file's name in the exports storage (settings.STORAGES: under MEDIA_ROOT, or the bucket);
    # empty until the file exists and again after it expired.
    file_path = models.CharField(max_length=200, blank=True)
    file_name = models.CharField(_("file name"), max_length=200, blank=True)
    file_size = models.BigIntegerField(null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("available until"), null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["requested_by", "-created_at"], name="export_job_user_time"),
            models.Index(fields=["status", "expires_at"], name="export_job_status_expiry"),
        ]
        constraints = [
            models.CheckConstraint(name="export_job_status_valid", condition=models.Q(status__in=ExportStatus.values)),
            models.CheckConstraint(name="export_job_rows_done_positive", condition=models.Q(rows_done__gte=0)),
        ]

    def __str__(self) -> str:
        return f"{self.dataset}.{self.format} {self.created_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def is_downloadable(self, now=None) -> bool:
        now = now or timezone.now()
        return (
            self.status == ExportStatus.DONE
            and bool(self.file_path)
            and (self.expires_at is None or self.expires_at > now)
        )

    @property
    def percent(self) -> int | None:
        """Progress for the bar; None while the total is not known yet."""
        if self.status == ExportStatus.DONE:
            return 100
        if not self.rows_total:
            return None
        return min(99, self.rows_done * 100 // self.rows_total)
