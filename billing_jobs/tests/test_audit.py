"""The monthly run's audit trail: one event per chunk, and each charge in its customer's trail."""

import datetime as dt

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse

from audit.models import AuditEvent
from billing_jobs.models import JobRunChunk
from billing_jobs.services import run_billing

from .factories import active_customer, at, consumptions

pytestmark = pytest.mark.django_db

D = dt.date


def run_on(day: D, hour: int = 1):
    with time_machine.travel(at(day, hour), tick=False):
        return run_billing(day)


@pytest.fixture
def customers(msp_org, other_msp_org):
    return [
        active_customer(organization, activated=at(D(2026, 10, 1)), users=10 + n, points=100)
        for n, organization in enumerate([msp_org, other_msp_org] * 4)
    ]


@override_settings(PORTAL_BILLING_CHUNK_SIZE=3)
def test_the_monthly_run_audits_one_event_per_chunk_with_its_period_accounts_points_and_run(customers):
    job = run_on(D(2026, 11, 25))

    events = list(AuditEvent.objects.filter(action="points.consumption").order_by("object_id"))
    chunks = list(JobRunChunk.objects.filter(job_run=job, charged__gt=0).order_by("pk"))
    assert len(chunks) == 3
    assert [event.object_id for event in events] == [str(chunk.pk) for chunk in chunks]
    for event, chunk in zip(events, chunks, strict=True):
        assert event.object_type == "billing_jobs.JobRunChunk"
        assert (event.actor, event.actor_label, event.channel, event.customer) == (None, "job", "job", None)
        assert event.after == {
            "job_run": job.pk,
            "period": "2026-11",
            "first_id": chunk.first_id,
            "last_id": chunk.last_id,
            "accounts": chunk.charged,
            "points": chunk.points,
        }
        assert "done" in event.object_repr
    assert sum(event.after["accounts"] for event in events) == len(customers)
    assert sum(event.after["points"] for event in events) == sum(t.amount for t in consumptions())
    # The transfers are the per-account record: they name the run.
    assert {t.snapshot["job_run_id"] for t in consumptions()} == {job.pk}
    assert not AuditEvent.objects.filter(customer__isnull=False, action="points.consumption").exists()

    # A second run charges nothing and audits nothing.
    run_on(D(2026, 11, 25), hour=5)
    assert AuditEvent.objects.filter(action="points.consumption").count() == 3


def test_the_customers_audit_trail_shows_its_charge_with_the_run(client_for, msp_admin, operator_user, msp_org):
    customer = active_customer(msp_org, activated=at(D(2026, 10, 1)), users=12, points=100)
    job = run_on(D(2026, 11, 25))
    url = reverse("customers:detail", args=[customer.pk])

    page = client_for(msp_admin).get(url).content.decode()
    trail = page[page.index('data-testid="audit-trail"') :]
    assert "月次のポイント消費" in trail and 'title="points.consumption"' in trail
    assert "システム（月次処理）" in trail
    assert "<strong>対象月</strong>: — → 2026-11" in trail and "<strong>ポイント</strong>: — → 12" in trail
    assert "<strong>ポイント残高</strong>: 100 → 88" in trail
    assert "{" not in trail.split("</table>")[0] and "None" not in trail.split("</table>")[0]
    assert f"ジョブ実行 #{job.pk}" in trail
    # Only the operator sees the run's page.
    assert reverse("billing_jobs:run_detail", args=[job.pk]) not in trail
    operator_page = client_for(operator_user).get(url).content.decode()
    assert f'href="{reverse("billing_jobs:run_detail", args=[job.pk])}"' in operator_page
