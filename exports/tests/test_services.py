import datetime as dt
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from customers.tests.factories import CustomerAccountFactory
from exports import datasets, services
from exports.models import ExportJob, ExportStatus
from exports.tasks import expire_exports

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 11, 24, 9, 0, tzinfo=dt.UTC)


def start(user, dataset, params="", django_capture_on_commit_callbacks=None):
    with django_capture_on_commit_callbacks(execute=True):
        job = services.export_job_start(user=user, dataset=dataset, params=QueryDict(params), language="ja")
    job.refresh_from_db()
    return job


def test_a_background_export_writes_the_file_records_progress_and_audits(
    msp_admin, msp_org, test_dataset, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "PROGRESS_EVERY", 2)
    CustomerAccountFactory.create_batch(5, organization=msp_org)
    with CaptureQueriesContext(connection) as queries, time_machine.travel(NOW, tick=False):
        job = start(msp_admin, test_dataset, "sort=-points_balance", django_capture_on_commit_callbacks)
    assert job.status == ExportStatus.DONE
    assert (job.rows_done, job.rows_total) == (5, 5)
    assert job.file_name == "customers_20251124_1800.xlsx"
    assert job.expires_at == NOW + dt.timedelta(hours=24)
    assert (Path(settings.MEDIA_ROOT) / job.file_path).is_file()
    assert job.file_size > 0
    progress_updates = [
        q for q in queries.captured_queries if q["sql"].startswith("UPDATE") and "rows_done" in q["sql"]
    ]
    # Reset when it starts, after rows 2 and 4, then the final save.
    assert len(progress_updates) >= 3
    event = AuditEvent.objects.get(action="test_customers.export")
    assert event.actor == msp_admin
    assert event.object_id == str(job.pk)
    assert event.after == {"format": "xlsx", "filters": {"sort": "-points_balance"}, "rows": 5}


def test_a_second_click_on_the_same_export_reuses_the_running_job(msp_admin, test_dataset):
    first = services.export_job_start(user=msp_admin, dataset=test_dataset, params=QueryDict("q=a"), language="ja")
    second = services.export_job_start(user=msp_admin, dataset=test_dataset, params=QueryDict("q=a"), language="ja")
    other = services.export_job_start(user=msp_admin, dataset=test_dataset, params=QueryDict("q=b"), language="ja")
    assert first.pk == second.pk
    assert other.pk != first.pk
    assert ExportJob.objects.count() == 2


def test_a_finished_job_delivered_again_is_left_alone(
    msp_admin, msp_org, test_dataset, django_capture_on_commit_callbacks
):
    CustomerAccountFactory(organization=msp_org)
    job = start(msp_admin, test_dataset, "", django_capture_on_commit_callbacks)
    again = services.export_job_run(job_id=job.pk)
    assert again.finished_at == job.finished_at
    assert AuditEvent.objects.filter(action="test_customers.export").count() == 1


def test_a_user_who_lost_the_export_right_gets_a_failed_job_and_no_file(msp_admin, test_dataset):
    job = services.export_job_start(user=msp_admin, dataset=test_dataset, params=QueryDict(), language="en")
    msp_admin.is_active = False
    msp_admin.save(update_fields=["is_active"])
    job = services.export_job_run(job_id=job.pk)
    assert job.status == ExportStatus.FAILED
    assert job.error == "You are no longer allowed to export this list."
    assert not job.file_path
    assert not list((Path(settings.MEDIA_ROOT) / "exports").glob("*"))
    assert not AuditEvent.objects.filter(action="test_customers.export").exists()


def test_a_crashing_export_fails_with_a_message_and_leaves_no_partial_file(msp_admin):
    def build(user, params):
        raise RuntimeError("database went away")

    broken = datasets.register(datasets.Dataset("broken", "broken", "broken", "customers.export", build))
    try:
        job = services.export_job_start(user=msp_admin, dataset=broken, params=QueryDict(), language="ja")
        job = services.export_job_run(job_id=job.pk)
    finally:
        datasets._DATASETS.pop("broken")
    assert job.status == ExportStatus.FAILED
    assert "database went away" not in job.error
    assert job.error.startswith("エクスポートに失敗しました")
    assert not list((Path(settings.MEDIA_ROOT) / "exports").glob("*"))


def test_expiry_deletes_files_but_keeps_the_history(
    msp_admin, msp_org, test_dataset, django_capture_on_commit_callbacks
):
    CustomerAccountFactory(organization=msp_org)
    with time_machine.travel(NOW, tick=False):
        old = start(msp_admin, test_dataset, "q=old", django_capture_on_commit_callbacks)
    with time_machine.travel(NOW + dt.timedelta(hours=20), tick=False):
        recent = start(msp_admin, test_dataset, "q=recent", django_capture_on_commit_callbacks)
    old_file = Path(settings.MEDIA_ROOT) / old.file_path
    with time_machine.travel(NOW + dt.timedelta(hours=24, seconds=1), tick=False):
        assert services.export_jobs_expire() == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.status == ExportStatus.EXPIRED
    assert old.file_path == ""
    assert not old_file.exists()
    assert recent.status == ExportStatus.DONE
    assert (Path(settings.MEDIA_ROOT) / recent.file_path).is_file()
    assert AuditEvent.objects.filter(action="test_customers.export").count() == 2


def test_the_command_and_the_periodic_task_expire_exports(
    msp_admin, msp_org, test_dataset, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOW, tick=False):
        start(msp_admin, test_dataset, "q=one", django_capture_on_commit_callbacks)
        start(msp_admin, test_dataset, "q=two", django_capture_on_commit_callbacks)
    ExportJob.objects.filter(dataset="test_customers", filters={"q": "two"}).update(expires_at=NOW)
    out = StringIO()
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        call_command("expire_exports", stdout=out)
        assert "Expired exports: 1" in out.getvalue()
    with time_machine.travel(NOW + dt.timedelta(days=2), tick=False):
        assert expire_exports.delay().get() == 1
    assert set(ExportJob.objects.values_list("status", flat=True)) == {ExportStatus.EXPIRED}


def test_filters_leave_out_paging_and_empty_values():
    params = QueryDict("q=acme&page=3&per_page=50&status=active&status=cancelled&support=&encoding=cp932")
    assert services.export_filters(params) == {"q": "acme", "status": ["active", "cancelled"]}
