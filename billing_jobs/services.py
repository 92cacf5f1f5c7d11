"""The daily billing run (DESIGN.md §5.6, §7) and the explicit charge of one period.

For a run date D (a business date in Asia/Tokyo) the run does, in this order:
1. the scheduled cancellations whose date is on or before D (each charges what the account
   still owes, then settles it to 0);
2. the consumption of every due period (`due_periods`) for every eligible account not yet
   charged, in id-range chunks (`JobRunChunk`), inline or fanned out over Celery workers;
3. suspension flags (negative longer than the grace period → suspended; back at ≥ 0 → lifted);
4. on reminder days: auto-replenish (accounts that asked for it, when the pool can pay), then
   one shortage reminder per MSP listing the accounts whose estimate is still negative;
5. the apps' own daily work (customers.hooks.daily_run_steps: merge and transfer requests left
   pending past their time expire).
Every step is idempotent: re-running a date, or running it twice at once, posts nothing twice.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Min, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Concat, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record
from customers import hooks as customer_hooks
from customers.cancellation import cancel_due
from customers.models import CustomerAccount, CustomerStatus
from customers.services import customers_suspend, customers_unsuspend
from msp_portal import context, dates, processes
from msp_portal.errors import DomainError
from points.models import Transfer, TransferKind
from points.services import points_auto_replenish

from .charging import charge_range
from .models import ChunkStatus, JobKind, JobRun, JobRunChunk, JobStatus, ShortageReminder
from .selectors import due_cancellations, due_periods, owing_range_starts

logger = logging.getLogger(__name__)


def _append_error(job_id: int, text: str) -> None:
    JobRun.objects.filter(pk=job_id).update(errors=Concat(F("errors"), Value(text.rstrip() + "\n")))


# --- Runs ------------------------------------------------------------------------------------


def run_billing(run_date: dt.date, *, inline: bool = True, workers: int = 1, triggered_by: str = "") -> JobRun:
    """Start (and with `inline`, complete) the daily run of `run_date`. Without `inline` the
    charge chunks go to Celery workers after commit, and the last one to finish triggers the
    final steps (`finish_run`); `inline` with `workers` > 1 runs the chunks in that many
    processes of this machine, as that many Celery workers would (PostgreSQL only)."""
    periods = due_periods(run_date)
    job = JobRun.objects.create(kind=JobKind.DAILY, run_date=run_date, periods=periods, triggered_by=triggered_by)
    with context.acting(channel="job"):
        cancelled = _run_due_cancellations(job)
        JobRun.objects.filter(pk=job.pk).update(counts={"cancelled": cancelled})
        _plan_and_dispatch(job, periods, inline=inline, workers=workers)
    job.refresh_from_db()
    return job


def charge_period(period: str, *, inline: bool = True, workers: int = 1, triggered_by: str = "") -> JobRun:
    """Charge every eligible account not yet charged for `period` (an explicit catch-up of a
    gap older than the daily run reaches). The period's 25th must have come."""
    charge_day = dates.charge_date(period)
    if charge_day > dates.today():
        raise DomainError(_("The 25th of %(period)s has not come yet.") % {"period": period})
    job = JobRun.objects.create(
        kind=JobKind.CHARGE_PERIOD, run_date=dates.today(), periods=[period], triggered_by=triggered_by
    )
    with context.acting(channel="job"):
        _plan_and_dispatch(job, [period], inline=inline, workers=workers)
    job.refresh_from_db()
    return job


def _run_due_cancellations(job: JobRun) -> int:
    cancelled = 0
    for customer_id in due_cancellations(job.run_date).order_by("pk").values_list("pk", flat=True).iterator():
        try:
            cancelled += cancel_due(customer_id, run_date=job.run_date)
        except Exception as exc:  # one account's failure must not stop the others; it is recorded
            logger.exception("Scheduled cancellation of customer %s failed", customer_id)
            _append_error(job.pk, f"cancel customer {customer_id}: {type(exc).__name__}: {exc}")
    return cancelled


def _plan_and_dispatch(job: JobRun, periods: list[str], *, inline: bool, workers: int = 1) -> None:
    lowest = CustomerAccount.objects.aggregate(lo=Min("pk"))["lo"]
    size = max(1, settings.PORTAL_BILLING_CHUNK_SIZE)
    chunks = []
    if lowest is not None:
        for period in periods:
            for first in owing_range_starts(period, lowest, size):
                chunks.append(JobRunChunk(job_run=job, period=period, first_id=first, last_id=first + size - 1))
    with transaction.atomic():
        JobRunChunk.objects.bulk_create(chunks)
        JobRun.objects.filter(pk=job.pk).update(chunks_total=len(chunks))
        chunk_ids = list(job.chunks.order_by("period", "first_id").values_list("pk", flat=True))
        if not inline:
            from .tasks import charge_chunk_task, finish_run_task

            if chunk_ids:
                for chunk_id in chunk_ids:
                    transaction.on_commit(lambda chunk_id=chunk_id: charge_chunk_task.delay(chunk_id))
            else:
                JobRun.objects.filter(pk=job.pk).update(status=JobStatus.FINISHING)
                transaction.on_commit(lambda: finish_run_task.delay(job.pk))
    if inline:
        if workers > 1 and len(chunk_ids) > 1 and connection.vendor == "postgresql" and not connection.in_atomic_block:
            _run_chunks_in_processes(chunk_ids, workers)
        else:
            for chunk_id in chunk_ids:
                _run_chunk_inline(chunk_id)
        if mark_finishing(job.pk):
            finish_run(job.pk)


def _run_chunk_inline(chunk_id: int) -> None:
    try:
        run_chunk(chunk_id)
    except Exception as exc:  # recorded on the chunk and the run; the other chunks go on
        logger.exception("Billing chunk %s failed", chunk_id)
        chunk_failed(chunk_id, exc)


def _run_chunk_in_worker(chunk_id: int) -> None:
    with context.acting(channel="job"):
        _run_chunk_inline(chunk_id)


def _run_chunks_in_processes(chunk_ids: list[int], workers: int) -> None:
    """The chunks over `workers` processes, each with its own database connection: chunks are
    independent (disjoint id ranges, one transaction each), as on Celery workers. The processes
    are started fresh ("spawn"): a fork of a process that runs threads can inherit a lock that
    one of them held, and wait for it for ever."""
    database = {key: value for key, value in connection.settings_dict.items() if key != "TEST"}
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=processes.start_django,
        initargs=(database,),
    ) as pool:
        list(pool.map(_run_chunk_in_worker, chunk_ids))


def run_chunk(chunk_id: int) -> bool:
    """Charge one chunk; marks it done in the same transaction as its charges, so a crash
    leaves it either fully done or to be re-run. Returns True when this call completed it."""
    chunk = JobRunChunk.objects.select_related("job_run").get(pk=chunk_id)
    if chunk.status != ChunkStatus.PENDING:
        return False
    with context.acting(channel="job"), transaction.atomic():
        charged, points = charge_range(
            chunk.period, chunk.first_id, chunk.last_id, today=chunk.job_run.run_date, run_id=chunk.job_run_id
        )
        updated = JobRunChunk.objects.filter(pk=chunk_id, status=ChunkStatus.PENDING).update(
            status=ChunkStatus.DONE, charged=charged, points=points, finished_at=timezone.now()
        )
        if updated:
            JobRun.objects.filter(pk=chunk.job_run_id).update(chunks_done=F("chunks_done") + 1)
        if charged:
            # One event per chunk; each account's charge is its transfer (whose snapshot names
            # the run), which the customer's audit trail shows.
            chunk.refresh_from_db(fields=["status"])
            audit_record(
                actor=None,
                action="points.consumption",
                obj=chunk,
                after={
                    "job_run": chunk.job_run_id,
                    "period": chunk.period,
                    "first_id": chunk.first_id,
                    "last_id": chunk.last_id,
                    "accounts": charged,
                    "points": points,
                },
            )
    return bool(updated)


def chunk_failed(chunk_id: int, exc: BaseException) -> None:
    with transaction.atomic():
        chunk = JobRunChunk.objects.select_for_update().get(pk=chunk_id)
        if chunk.status != ChunkStatus.PENDING:
            return
        chunk.status = ChunkStatus.FAILED
        chunk.error = f"{type(exc).__name__}: {exc}"
        chunk.finished_at = timezone.now()
        chunk.save(update_fields=["status", "error", "finished_at"])
        JobRun.objects.filter(pk=chunk.job_run_id).update(chunks_done=F("chunks_done") + 1)
        _append_error(chunk.job_run_id, f"chunk {chunk.period} [{chunk.first_id}, {chunk.last_id}]: {chunk.error}")


def mark_finishing(job_id: int) -> bool:
    """Move the run to FINISHING once all its chunks are done or failed; True for exactly one
    caller, which then runs `finish_run`."""
    with transaction.atomic():
        job = JobRun.objects.select_for_update().get(pk=job_id)
        if job.status != JobStatus.RUNNING or job.chunks_done < job.chunks_total:
            return False
        job.status = JobStatus.FINISHING
        job.save(update_fields=["status"])
    return True


def finish_run(job_id: int) -> JobRun:
    """The run's last steps (suspension, then reminders and auto-replenish on their days, for a
    daily run), the totals, and the final status."""
    job = JobRun.objects.get(pk=job_id)
    if job.is_finished:
        return job
    counts = dict(job.counts)
    # Every period of the run, with zeros where no range had anything left to charge.
    by_period = {period: {"accounts": 0, "points": 0} for period in sorted(job.periods)}
    by_period |= {
        row["period"]: {"accounts": row["accounts"], "points": row["points"]}
        for row in job.chunks.values("period")
        .order_by("period")
        .annotate(accounts=Sum("charged"), points=Sum("points"))
    }
    counts["charged"] = by_period
    if job.kind == JobKind.DAILY:
        with context.acting(channel="job"):
            for name, step in (
                ("suspension", update_suspensions),
                ("reminders", run_reminder_day),
                ("other apps", _run_registered_steps),
            ):
                try:
                    counts.update(step(job.run_date))
                except Exception as exc:  # recorded; the run is marked failed and beat retries it
                    logger.exception("Billing step %s failed", name)
                    _append_error(job.pk, f"{name}: {type(exc).__name__}: {exc}")
    job.refresh_from_db(fields=["errors"])
    failed = job.chunks.filter(status=ChunkStatus.FAILED).exists()
    JobRun.objects.filter(pk=job.pk).update(
        counts=counts,
        status=JobStatus.FAILED if failed or job.errors else JobStatus.SUCCEEDED,
        finished_at=timezone.now(),
    )
    if not failed and not job.errors:
        # Whatever an interrupted earlier run of the same date left undone, this one has done.
        JobRun.objects.filter(
            kind=job.kind,
            run_date=job.run_date,
            periods=job.periods,
            status=JobStatus.RUNNING,
            started_at__lt=job.started_at,
        ).update(status=JobStatus.SUPERSEDED, finished_at=timezone.now())
    job.refresh_from_db()
    if job.periods:
        _publish_run_completed(job)
    return job


def _publish_run_completed(job: JobRun) -> None:
    """billing.run_completed: one event per MSP for a run that charged periods, with its totals,
    only for the MSPs whose webhooks subscribe (never one event per charged account). The
    totals are one grouped query over those MSPs' consumption transfers of the run."""

    def totals(organization_ids: list[int]) -> dict[int, dict]:
        rows = (
            Transfer.objects.filter(
                kind=TransferKind.CONSUMPTION,
                period__in=job.periods,
                debit_account__msp_id__in=organization_ids,
                snapshot__job_run_id=job.pk,
            )
            .values("debit_account__msp_id", "period")
            .order_by()
            .annotate(accounts=Count("id"), points=Sum("amount"))
        )
        data = {
            organization_id: {
                "job_run_id": job.pk,
                "run_date": job.run_date.isoformat(),
                "status": job.status,
                "periods": {period: {"accounts": 0, "points": 0} for period in sorted(job.periods)},
                "accounts_charged": 0,
                "points_charged": 0,
            }
            for organization_id in organization_ids
        }
        for row in rows:
            entry = data[row["debit_account__msp_id"]]
            entry["periods"][row["period"]] = {"accounts": row["accounts"], "points": row["points"]}
            entry["accounts_charged"] += row["accounts"]
            entry["points_charged"] += row["points"]
        return data

    with transaction.atomic():
        customer_hooks.organization_events("billing.run_completed", totals)


def _run_registered_steps(run_date: dt.date) -> dict[str, int]:
    """The daily work of the apps above the customers (customers.hooks.daily_run_steps: the
    merges app expires pending requests), last, each answering its counts."""
    counts: dict[str, int] = {}
    for result in customer_hooks.daily_run_steps(run_date):
        counts.update(result or {})
    return counts


def should_run_today(today: dt.date) -> bool:
    """The hourly scan's question: is there no successful daily run of today yet, and none
    started within the last hour still in progress?"""
    runs = JobRun.objects.filter(kind=JobKind.DAILY, run_date=today)
    if runs.filter(status=JobStatus.SUCCEEDED).exists():
        return False
    recent = timezone.now() - dt.timedelta(hours=1)
    return not runs.filter(status__in=(JobStatus.RUNNING, JobStatus.FINISHING), started_at__gte=recent).exists()


# --- Suspension --------------------------------------------------------------------------------


def negative_since_expression():
    """When the wallet's balance last went below zero and stayed there: the time of the
    transfer right after its latest one that left the balance at or above zero."""
    wallet = OuterRef("wallet_id")
    last_debit_ok = Transfer.objects.filter(debit_account=wallet, debit_balance_after__gte=0).order_by("-debit_seq")
    # `credit_seq IS NOT NULL` lets the partial (credit_account, credit_seq) index serve it (a
    # wallet's credit sides always have a sequence; without it PostgreSQL scans every transfer).
    last_credit_ok = Transfer.objects.filter(
        credit_account=wallet, credit_seq__isnull=False, credit_balance_after__gte=0
    ).order_by("-credit_seq")
    return Greatest(
        Coalesce(Subquery(last_debit_ok.values("debit_seq")[:1]), Value(0)),
        Coalesce(Subquery(last_credit_ok.values("credit_seq")[:1]), Value(0)),
    )


def _planned_without_jit(queryset) -> list:
    """The rows of a query over all accounts. PostgreSQL plans it as costly enough to
    JIT-compile, which took ten times longer than running it (0.74 of 0.83 s at 100,000
    accounts, where the whole query takes 0.07 s without). The rows are a few values each:
    the first run over a large ledger may have hundreds of thousands to flag."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        return list(queryset)


# The accounts one suspension write flags or lifts: one UPDATE (and its row locks) per batch.
SUSPENSION_BATCH = 1000


def update_suspensions(run_date: dt.date) -> dict[str, int]:
    """Flag 利用停止 on active accounts negative for longer than PORTAL_SUSPENSION_GRACE_DAYS;
    lift the flag from accounts back at or above zero. Who is found here; the flag is written
    (re-checked under the row locks, and audited) by the customers services, a batch at a time."""
    now = timezone.now()
    limit = now - dt.timedelta(days=settings.PORTAL_SUSPENSION_GRACE_DAYS)
    first_negative = Transfer.objects.filter(
        Q(debit_account=OuterRef("wallet_id"), debit_seq=OuterRef("last_ok_seq") + 1)
        | Q(credit_account=OuterRef("wallet_id"), credit_seq=OuterRef("last_ok_seq") + 1)
    ).values("created_at")[:1]
    candidates = (
        CustomerAccount.objects.filter(status=CustomerStatus.ACTIVE, suspended_at__isnull=True, wallet__balance__lt=0)
        .annotate(wallet_id=F("wallet__id"))
        .annotate(last_ok_seq=negative_since_expression())
        .annotate(negative_since=Subquery(first_negative))
        .filter(negative_since__lte=limit)
    )
    suspended = lifted = 0
    flagging = _planned_without_jit(candidates.values_list("pk", "negative_since"))
    for start in range(0, len(flagging), SUSPENSION_BATCH):
        batch = dict(flagging[start : start + SUSPENSION_BATCH])
        suspended += customers_suspend(negative_since=batch, at=now)
    back_at_zero = CustomerAccount.objects.filter(suspended_at__isnull=False, wallet__balance__gte=0)
    lifting = _planned_without_jit(back_at_zero.values_list("pk", flat=True))
    for start in range(0, len(lifting), SUSPENSION_BATCH):
        lifted += customers_unsuspend(customer_ids=lifting[start : start + SUSPENSION_BATCH])
    return {"suspended": suspended, "unsuspended": lifted}


# --- Reminder days -----------------------------------------------------------------------------


# Accounts a transaction of the auto-replenish holds: few enough that a pool's lock is short.
AUTO_REPLENISH_BATCH = 200


def auto_replenish(run_date: dt.date) -> dict[str, int]:
    """The accounts that asked for auto-replenish and whose estimate is negative, in (MSP,
    account) order, replenished by `points_auto_replenish` in batches: each gets −estimate from
    its MSP's pool if the pool can pay, and is skipped (and counted) if not."""
    candidates = CustomerAccount.objects.filter(
        status=CustomerStatus.ACTIVE, auto_replenish=True, wallet__estimated_balance__lt=0
    ).order_by("organization_id", "pk")
    counts = {"auto_replenished": 0, "auto_replenished_points": 0, "auto_replenish_skipped": 0}
    ids = candidates.values_list("pk", flat=True).iterator(chunk_size=AUTO_REPLENISH_BATCH)
    while batch := list(itertools.islice(ids, AUTO_REPLENISH_BATCH)):
        result = points_auto_replenish(customer_ids=batch, run_date=run_date)
        counts["auto_replenished"] += len(result.transfers)
        counts["auto_replenished_points"] += result.total
        counts["auto_replenish_skipped"] += len(result.skipped)
    return counts


# A points.shortage event lists this many accounts (largest shortage first) and counts the rest.
SHORTAGE_EVENT_ACCOUNTS = 1000


def shortage_payloads(organization_ids: list[int], run_date: dt.date) -> dict[int, dict]:
    """points.shortage: per MSP, its active accounts whose estimate after the coming 25th is
    negative (one query per MSP, only for the MSPs whose webhooks subscribe)."""
    this_25, next_25 = dates.next_charge_days(run_date)
    charge_day = this_25 if run_date <= this_25 else next_25
    payloads = {}
    for organization_id in organization_ids:
        short = CustomerAccount.objects.with_points().filter(
            organization_id=organization_id, status=CustomerStatus.ACTIVE, estimated_balance__lt=0
        )
        accounts = [
            {
                "id": row["pk"],
                "code": row["account_code"],
                "company": row["company_name"],
                "points_balance": row["points_balance"],
                "estimated_balance": row["estimated_balance"],
                "auto_replenish": row["auto_replenish"],
            }
            for row in short.order_by("estimated_balance", "pk").values(
                "pk", "account_code", "company_name", "points_balance", "estimated_balance", "auto_replenish"
            )[: SHORTAGE_EVENT_ACCOUNTS + 1]
        ]
        payloads[organization_id] = {
            "reminder_date": run_date.isoformat(),
            "charge_day": charge_day.isoformat(),
            "accounts": accounts[:SHORTAGE_EVENT_ACCOUNTS],
            "truncated": len(accounts) > SHORTAGE_EVENT_ACCOUNTS,
        }
    return payloads


def queue_shortage_reminders(run_date: dt.date) -> int:
    """Record one reminder per MSP with accounts whose estimate is negative, and send it after
    commit. The record is unique per (MSP, date), so a re-run sends nothing twice."""
    rows = (
        CustomerAccount.objects.filter(status=CustomerStatus.ACTIVE, wallet__estimated_balance__lt=0)
        .values("organization_id")
        .order_by("organization_id")
        .annotate(n=Count("id"))
    )
    queued = 0
    for row in rows:
        with transaction.atomic():
            reminder, created = ShortageReminder.objects.get_or_create(
                organization_id=row["organization_id"], reminder_date=run_date, defaults={"accounts": row["n"]}
            )
            if created:
                from .tasks import send_shortage_reminder_task

                transaction.on_commit(lambda pk=reminder.pk: send_shortage_reminder_task.delay(pk))
                customer_hooks.organization_events(
                    "points.shortage",
                    lambda ids, day=run_date: shortage_payloads(ids, day),
                    organization_ids=[row["organization_id"]],
                )
                queued += 1
    return queued


def run_reminder_day(run_date: dt.date) -> dict[str, int]:
    if run_date.day not in settings.PORTAL_REMINDER_DAYS:
        return {}
    return {**auto_replenish(run_date), "reminders": queue_shortage_reminders(run_date)}
