"""Demo billing history: every past 25th the demo accounts owed is charged, and today's daily
run is recorded, so statements, the job page and verify_ledger look like a portal in use."""

from __future__ import annotations

from msp_portal import dates

from .models import JobKind, JobRun, JobStatus
from .selectors import missing_charges
from .services import charge_period, run_billing


def seed(*, command, organizations, options) -> None:
    for gap in missing_charges():
        job = charge_period(gap.period, triggered_by="seed_demo")
        command.stdout.write(f"  billing: charged {gap.period} ({job.counts.get('charged', {})})")
    today = dates.today()
    if not JobRun.objects.filter(kind=JobKind.DAILY, run_date=today, status=JobStatus.SUCCEEDED).exists():
        run_billing(today, triggered_by="seed_demo")
