"""Records of the scheduled work (DESIGN.md §7): each run, its chunks, and the reminders sent.

A run is a record, not a lock: two runs of the same date may overlap (beat may fire twice, ops
may run the command by hand); the ledger's unique keys make the second one post nothing.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class JobKind(models.TextChoices):
    DAILY = "daily", _("Daily billing run")
    CHARGE_PERIOD = "charge_period", _("Charge of one period")


class JobStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    FINISHING = "finishing", _("Finishing")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Finished with errors")
    # A later run of the same date completed: whatever this one left undone, that one did.
    SUPERSEDED = "superseded", _("Superseded by a later run")


class JobRun(models.Model):
    kind = models.CharField(_("kind"), max_length=20, choices=JobKind.choices)
    run_date = models.DateField(_("run date"))
    # The periods ("YYYY-MM") this run charges.
    periods = models.JSONField(_("periods"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=JobStatus.choices, default=JobStatus.RUNNING)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # "beat", "command", or the e-mail of the operator who started it.
    triggered_by = models.CharField(_("triggered by"), max_length=254, blank=True)
    chunks_total = models.PositiveIntegerField(_("chunks"), default=0)
    chunks_done = models.PositiveIntegerField(_("chunks done"), default=0)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    errors = models.TextField(_("errors"), blank=True)

    class Meta:
        verbose_name = _("job run")
        verbose_name_plural = _("job runs")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["run_date", "kind"], name="jobrun_date_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.run_date} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.SUPERSEDED)


class ChunkStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class JobRunChunk(models.Model):
    """One id range of one period's charge. Re-running a chunk posts only what is missing."""

    job_run = models.ForeignKey(JobRun, on_delete=models.CASCADE, related_name="chunks")
    period = models.CharField(max_length=7)
    first_id = models.BigIntegerField()
    last_id = models.BigIntegerField()
    status = models.CharField(max_length=8, choices=ChunkStatus.choices, default=ChunkStatus.PENDING)
    charged = models.PositiveIntegerField(default=0)
    points = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["period", "first_id"]
        constraints = [
            models.UniqueConstraint(fields=["job_run", "period", "first_id"], name="jobrunchunk_unique_range"),
        ]

    def __str__(self) -> str:
        return f"{self.period} [{self.first_id}, {self.last_id}] {self.status}"


class ShortageReminder(models.Model):
    """The shortage reminder of one MSP on one date: unique, so a re-run never sends it twice."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    reminder_date = models.DateField()
    accounts = models.PositiveIntegerField(default=0)
    recipients = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "reminder_date"], name="shortage_reminder_once_a_day"),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.reminder_date}"
