"""What a run would do (the dry run) and what a run did, as text for the commands."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings

from points.settlement import settlement_for

from .models import JobRun
from .selectors import MspTotal, due_cancellations, due_periods, owing_totals_by_msp


@dataclass(frozen=True)
class CancellationPreview:
    customer_id: int
    account_code: str
    organization_name: str
    cancellation_date: dt.date
    charge_first: int
    topup: int
    forfeit: int


@dataclass(frozen=True)
class DryRunReport:
    run_date: dt.date
    cancellations: list[CancellationPreview]
    charges: dict[str, list[MspTotal]]
    reminder_day: bool


def dry_run_report(run_date: dt.date) -> DryRunReport:
    """Read-only: what the daily run of `run_date` would post, from the same selectors (the
    settlement of each due cancellation: `settlement_for`, as the run itself computes it)."""
    periods = due_periods(run_date)
    cancellations = []
    for customer in due_cancellations(run_date).select_related("organization").order_by("pk"):
        settlement = settlement_for(customer, cancellation_date=customer.cancellation_date)
        cancellations.append(
            CancellationPreview(
                customer.pk,
                customer.account_code,
                customer.organization.name,
                customer.cancellation_date,
                settlement.owed,
                settlement.topup,
                settlement.forfeit,
            )
        )
    return DryRunReport(
        run_date=run_date,
        cancellations=cancellations,
        charges={period: owing_totals_by_msp(period) for period in periods},
        reminder_day=run_date.day in settings.PORTAL_REMINDER_DAYS,
    )


def print_msp_totals(out, period: str, totals: list[MspTotal]) -> None:
    out.write(f"Consumption {period}:")
    for total in totals:
        out.write(
            f"  {total.organization_name} (#{total.organization_id}): {total.accounts} accounts, {total.points} points"
        )
    out.write(f"  total: {sum(t.accounts for t in totals)} accounts, {sum(t.points for t in totals)} points")


def print_report(out, report: DryRunReport) -> None:
    out.write(f"Dry run of {report.run_date} (nothing is changed)")
    out.write(f"Scheduled cancellations due: {len(report.cancellations)}")
    for item in report.cancellations:
        out.write(
            f"  {item.account_code} ({item.organization_name}) dated {item.cancellation_date}: "
            f"charge first {item.charge_first}, top-up {item.topup}, forfeit {item.forfeit}"
        )
    for period, totals in report.charges.items():
        print_msp_totals(out, period, totals)
    out.write("Suspension flags: updated")
    out.write("Reminder day: auto-replenish and shortage reminders" if report.reminder_day else "Not a reminder day")


def print_job(out, job: JobRun) -> None:
    out.write(f"Job run #{job.pk} {job.get_kind_display()} {job.run_date}: {job.get_status_display()}")
    for key, value in sorted(job.counts.items()):
        if key == "charged":
            for period, numbers in sorted(value.items()):
                out.write(f"  charged {period}: {numbers['accounts']} accounts, {numbers['points']} points")
        else:
            out.write(f"  {key}: {value}")
    if job.errors:
        out.write("Errors:")
        out.write(job.errors)
