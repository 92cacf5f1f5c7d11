import csv
import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest
import time_machine
from django.conf import settings

from accounts.tests.factories import UserFactory
from audit.models import AuditEvent
from customers.tests.factories import CustomerAccountFactory
from exports.models import ExportJob, ExportStatus

pytestmark = [pytest.mark.django_db, pytest.mark.urls("exports.tests.urls")]

NOW = dt.datetime(2025, 11, 24, 9, 5, tzinfo=dt.UTC)


def body(response) -> bytes:
    # The test client closes the response (as a WSGI server would) once the stream is read.
    return b"".join(response.streaming_content)


@pytest.fixture
def rows(msp_org):
    CustomerAccountFactory(organization=msp_org, account_code="acme-01", company_name="@SUM(A1)", points_balance=-5)
    CustomerAccountFactory(organization=msp_org, account_code="beta-02", company_name="ベータ🚀", points_balance=7)
    CustomerAccountFactory(organization=msp_org, account_code="gamma-03", company_name="ガンマ", points_balance=1)


def test_the_csv_download_is_named_with_the_date_and_audited_with_its_row_count(client_for, msp_admin, rows):
    with time_machine.travel(NOW, tick=False):
        response = client_for(msp_admin).get("/test-export.csv?q=&sort=-points_balance&page=2")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        "attachment; filename=\"customers_20251124_1805.csv\"; filename*=UTF-8''customers_20251124_1805.csv"
    )
    # Nothing audited before the rows are sent: the event carries the real count.
    assert not AuditEvent.objects.exists()
    table = list(csv.reader(io.StringIO(body(response).decode("utf-8-sig"), newline="")))
    assert [row[0] for row in table[1:]] == ["beta-02", "gamma-03", "acme-01"]
    assert table[3][1] == "'@SUM(A1)"
    event = AuditEvent.objects.get(action="test_customers.export")
    assert event.actor == msp_admin
    assert event.organization == msp_admin.organization
    assert event.ip == "127.0.0.1"
    assert event.after == {
        "format": "csv",
        "filters": {"sort": "-points_balance"},
        "rows": 3,
        "encoding": "utf-8",
        "completed": True,
    }


def test_the_cp932_csv_is_shift_jis_and_the_audit_counts_replaced_characters(client_for, msp_admin, rows):
    response = client_for(msp_admin).get("/test-export.csv?encoding=cp932")
    assert response["Content-Type"] == "text/csv; charset=Windows-31J"
    table = list(csv.reader(io.StringIO(body(response).decode("cp932"), newline="")))
    assert table[2][1] == "ベータ?"
    event = AuditEvent.objects.get(action="test_customers.export")
    assert event.after["encoding"] == "cp932"
    assert event.after["replaced_characters"] == 1


def test_a_small_excel_export_downloads_directly(client_for, msp_admin, rows):
    response = client_for(msp_admin).get("/test-export.xlsx?status=")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"].startswith('attachment; filename="customers_')
    workbook = openpyxl.load_workbook(io.BytesIO(body(response)))
    sheet = workbook.active
    assert [cell.value for cell in sheet["A"]][1:] == ["acme-01", "beta-02", "gamma-03"]
    assert sheet["E2"].value == -5
    assert AuditEvent.objects.get(action="test_customers.export").after["rows"] == 3
    assert not ExportJob.objects.exists()


def test_a_large_excel_export_runs_in_the_background_with_progress_then_a_link(
    client_for, msp_admin, rows, settings, django_capture_on_commit_callbacks
):
    settings.PORTAL_EXPORT_DIRECT_MAX_ROWS = 2
    client = client_for(msp_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get("/test-export.xlsx?sort=-points_balance")
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/exports/{job.pk}/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert f'href="/exports/{job.pk}/download"' in page.content.decode()
    download = client.get(f"/exports/{job.pk}/download")
    assert download.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(body(download))).active
    assert [cell.value for cell in sheet["A"]][1:] == ["beta-02", "gamma-03", "acme-01"]


def test_the_progress_fragment_polls_while_the_job_runs(client_for, msp_admin, msp_org):
    job = ExportJob.objects.create(
        requested_by=msp_admin,
        organization=msp_org,
        dataset="test_customers",
        status=ExportStatus.RUNNING,
        rows_total=200_000,
        rows_done=50_000,
    )
    response = client_for(msp_admin).get(f"/exports/{job.pk}/status", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'hx-trigger="every 2s"' in html
    assert 'max="100" value="25"' in html
    assert "50,000" in html
    assert "download" not in html
    ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.QUEUED, rows_total=None, rows_done=0)
    assert 'hx-trigger="every 2s"' in client_for(msp_admin).get(f"/exports/{job.pk}/status").content.decode()


def test_a_finished_fragment_stops_polling(client_for, msp_admin, msp_org):
    job = ExportJob.objects.create(
        requested_by=msp_admin, organization=msp_org, dataset="test_customers", status=ExportStatus.FAILED, error="x"
    )
    html = client_for(msp_admin).get(f"/exports/{job.pk}/status").content.decode()
    assert "hx-trigger" not in html


@pytest.fixture
def done_job(msp_admin, rows, client_for, settings, django_capture_on_commit_callbacks):
    settings.PORTAL_EXPORT_DIRECT_MAX_ROWS = 1
    with django_capture_on_commit_callbacks(execute=True):
        client_for(msp_admin).get("/test-export.xlsx")
    return ExportJob.objects.get(status=ExportStatus.DONE)


@pytest.mark.parametrize("path", ["/exports/{}/", "/exports/{}/status", "/exports/{}/download"])
def test_another_user_even_of_the_same_msp_gets_a_404(client_for, done_job, msp_viewer, other_msp_admin, path):
    assert client_for(msp_viewer).get(path.format(done_job.pk)).status_code == 404
    assert client_for(other_msp_admin).get(path.format(done_job.pk)).status_code == 404


@pytest.mark.parametrize("path", ["/exports/{}/", "/exports/{}/status", "/exports/{}/download"])
def test_the_job_pages_reject_other_methods(client_for, done_job, msp_admin, path):
    assert client_for(msp_admin).post(path.format(done_job.pk)).status_code == 405


def test_a_user_without_a_role_is_refused_and_anonymous_users_sign_in(client, client_for, done_job):
    # Someone else's export is not found at all (scope before capability, DESIGN.md §2).
    assert client_for(UserFactory(membership=None)).get(f"/exports/{done_job.pk}/").status_code == 404
    assert client_for(UserFactory(membership=None)).get("/test-export.csv").status_code == 403
    response = client.get(f"/exports/{done_job.pk}/download")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_an_unknown_job_is_a_404(client_for, msp_admin):
    assert client_for(msp_admin).get("/exports/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_an_expired_export_answers_410_and_says_so(client_for, msp_admin, done_job):
    from exports.services import export_jobs_expire

    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=25), tick=False):
        assert export_jobs_expire() == 1
    response = client_for(msp_admin).get(f"/exports/{done_job.pk}/download")
    assert response.status_code == 410
    assert "期限" in response.content.decode()


def test_a_download_past_its_expiry_is_refused_before_the_cleanup_ran(client_for, msp_admin, done_job):
    path = Path(settings.MEDIA_ROOT) / done_job.file_path
    with time_machine.travel(done_job.expires_at + dt.timedelta(seconds=1), tick=False):
        assert client_for(msp_admin).get(f"/exports/{done_job.pk}/download").status_code == 410
    assert path.is_file()


def test_support_staff_export_only_their_assigned_customers(client_for, support_user, support_org, msp_org, rows):
    CustomerAccountFactory(organization=msp_org, account_code="assigned-01", support_account=support_org)
    table = list(csv.reader(io.StringIO(body(client_for(support_user).get("/test-export.csv")).decode("utf-8-sig"))))
    assert [row[0] for row in table[1:]] == ["assigned-01"]
