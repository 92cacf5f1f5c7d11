import csv
import io
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest

from customers.tests.factories import CustomerAccountFactory
from exports.models import ExportJob, ExportStatus
from exports.services import export_job_run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def customers(msp_org):
    CustomerAccountFactory(
        organization=msp_org, account_code="aoba-01", company_name="あおば商事😀", contracted_users=30
    )
    CustomerAccountFactory(organization=msp_org, account_code="beta-02", company_name="=1+1", contracted_users=10)
    CustomerAccountFactory(organization=msp_org, account_code="chiba-03", company_name="千葉工業", contracted_users=20)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_both_buttons_download_the_list_as_shown(page, browser_login, msp_admin, customers, media):
    browser_login(page, msp_admin.email)
    page.goto(page.portal_url("/customers/?sort=-contracted_users"))
    with page.expect_download() as csv_download:
        page.get_by_role("link", name="CSVダウンロード").click()
    assert csv_download.value.suggested_filename.startswith("customers_")
    data = Path(csv_download.value.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0][:2] == ["アカウントコード", "会社名"]
    assert [row[:2] for row in rows[1:]] == [
        ["aoba-01", "あおば商事😀"],
        ["chiba-03", "千葉工業"],
        ["beta-02", "'=1+1"],
    ]

    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="EXCELダウンロード").click()
    assert xlsx_download.value.suggested_filename.endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(Path(xlsx_download.value.path()).read_bytes())).active
    assert [[cell.value for cell in row][:2] for row in sheet.iter_rows(min_row=2)] == [
        ["aoba-01", "あおば商事😀"],
        ["chiba-03", "千葉工業"],
        ["beta-02", "=1+1"],
    ]
    assert sheet["B4"].data_type == "s"
    assert [cell.value for cell in sheet["D"]][1:] == [30, 20, 10]


def test_a_large_excel_export_shows_progress_then_a_download_link(
    page, browser_login, msp_admin, customers, media, settings, monkeypatch
):

    settings.PORTAL_EXPORT_DIRECT_MAX_ROWS = 1
    # The queue without a worker: the page shows the job waiting until the test, playing the
    # worker, runs what was queued.
    queued = []
    # Replace the task where the service looks it up at call time (not an attribute of Celery's
    # task proxy, which resolves through whichever app is current in this process).
    monkeypatch.setattr("exports.tasks.run_export_job", SimpleNamespace(delay=queued.append))
    browser_login(page, msp_admin.email)
    page.goto(page.portal_url("/customers/?sort=account"))
    page.get_by_role("link", name="EXCELダウンロード").click()
    page.wait_for_url("**/exports/*/")
    status = page.get_by_test_id("export-job-status")
    assert status.get_attribute("data-status") == ExportStatus.QUEUED
    assert page.get_by_test_id("export-progress-bar").is_visible()
    assert "開始を待っています" in status.inner_text()

    job = ExportJob.objects.get()
    assert queued == [str(job.pk)]
    export_job_run(job_id=queued[0])

    link = page.get_by_test_id("export-download")
    link.wait_for(state="visible")
    assert "エクスポートが完了しました（3行）" in page.get_by_test_id("export-job-status").inner_text()
    with page.expect_download() as download:
        link.click()
    sheet = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active
    assert [cell.value for cell in sheet["A"]][1:] == ["aoba-01", "beta-02", "chiba-03"]
