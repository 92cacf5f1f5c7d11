"""Background exports on S3-compatible object storage, against moto's standalone S3 server
over HTTP: the worker stores the file in the bucket (nothing on its disk), the download is a
redirect to a short-lived presigned URL that names the file, and expiry deletes the object."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import openpyxl
import pytest
import time_machine
from django.conf import settings

from customers.tests.factories import CustomerAccountFactory
from exports.models import ExportJob, ExportStatus
from exports.services import export_jobs_expire
from msp_portal.tests.s3server import s3_server  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.urls("exports.tests.urls")]


@pytest.fixture
def bucket(s3_server, settings):  # noqa: F811
    name = s3_server.create_bucket(f"exports-{uuid.uuid4().hex[:12]}")
    settings.STORAGES = {**settings.STORAGES, "exports": s3_server.storage_settings(name, expire=120)}
    settings.EXPORTS_DOWNLOAD_URL_SECONDS = 120
    return name


@pytest.fixture
def finished_job(bucket, msp_admin, msp_org, client_for, settings, django_capture_on_commit_callbacks):
    CustomerAccountFactory(organization=msp_org, account_code="acme-01", company_name="株式会社アクメ")
    CustomerAccountFactory(organization=msp_org, account_code="beta-02", company_name="ベータ")
    settings.PORTAL_EXPORT_DIRECT_MAX_ROWS = 1
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(msp_admin).get("/test-export.xlsx")
    assert response.status_code == 302
    return ExportJob.objects.get()


def test_the_worker_stores_the_file_in_the_bucket_and_nothing_on_its_disk(s3_server, bucket, finished_job):  # noqa: F811
    assert finished_job.status == ExportStatus.DONE
    assert s3_server.keys(bucket) == [f"exports/{finished_job.pk}.xlsx"]
    stored = s3_server.client().head_object(Bucket=bucket, Key=finished_job.file_path)
    assert stored["ContentLength"] == finished_job.file_size > 0
    assert not (Path(settings.MEDIA_ROOT) / "exports").exists()


def test_the_download_redirects_to_a_short_lived_presigned_url_that_names_the_file(
    s3_server,  # noqa: F811
    finished_job,
    client_for,
    msp_admin,
):
    response = client_for(msp_admin).get(f"/exports/{finished_job.pk}/download")
    assert response.status_code == 302
    assert response["Cache-Control"] == "no-store"
    location = response["Location"]
    assert location.startswith(f"{s3_server.endpoint}/")
    query = parse_qs(urlsplit(location).query)
    assert query["X-Amz-Expires"] == ["120"]
    assert "X-Amz-Signature" in query
    with urllib.request.urlopen(location, timeout=10) as served:  # noqa: S310  (loopback)
        data = served.read()
        disposition = served.headers["Content-Disposition"]
        content_type = served.headers["Content-Type"]
    assert disposition.startswith('attachment; filename="customers_')
    assert f"filename*=UTF-8''{finished_job.file_name}" in disposition
    assert content_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["acme-01", "beta-02"]


def test_an_unsigned_request_for_the_object_is_refused(s3_server, bucket, finished_job):  # noqa: F811
    # The URL without its signature: the object is private to presigned URLs.
    unsigned = f"{s3_server.endpoint}/{bucket}/{finished_job.file_path}"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(unsigned, timeout=10)  # noqa: S310
    assert refused.value.code == 403


def test_expiry_deletes_the_object_and_the_download_then_answers_410(
    s3_server,  # noqa: F811
    bucket,
    finished_job,
    client_for,
    msp_admin,
):
    with time_machine.travel(finished_job.expires_at + dt.timedelta(seconds=1), tick=False):
        assert export_jobs_expire() == 1
    assert s3_server.keys(bucket) == []
    finished_job.refresh_from_db()
    assert (finished_job.status, finished_job.file_path) == (ExportStatus.EXPIRED, "")
    assert client_for(msp_admin).get(f"/exports/{finished_job.pk}/download").status_code == 410


def test_an_object_gone_from_the_bucket_answers_410(s3_server, bucket, finished_job, client_for, msp_admin):  # noqa: F811
    s3_server.client().delete_object(Bucket=bucket, Key=finished_job.file_path)
    assert client_for(msp_admin).get(f"/exports/{finished_job.pk}/download").status_code == 410


def test_the_settings_build_the_s3_storage_from_the_environment(s3_server):  # noqa: F811
    """What a web or worker process configured by environment variables uses: the same storage
    the tests above install."""
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.STORAGES['exports']))"
    )
    env = {**os.environ, **s3_server.env("some-bucket"), "DJANGO_SETTINGS_MODULE": "msp_portal.settings"}
    output = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(output) == s3_server.storage_settings("some-bucket")
    unset = {key: value for key, value in env.items() if not key.startswith("EXPORTS_S3_")}
    output = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script], cwd=settings.BASE_DIR, env=unset, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(output) == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
