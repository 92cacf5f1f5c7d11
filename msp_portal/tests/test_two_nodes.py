"""Two nodes that share nothing but PostgreSQL, Redis and the object-storage bucket: on each a
gunicorn web process and a Celery worker, started with the commands of docker-compose.yml,
each process with its own empty MEDIA_ROOT and temporary directory. Through them: register a
customer (web A) and approve it (web B), move points (web B), a background Excel export queued
on web A, written by worker A and downloaded through web B (the same workbook as the direct
download of the same view), the 25th's run fanned out over both workers (each account charged
once), and a provisioning attempt that failed on worker A retried by worker B.

The single-host variant runs the same with object storage unset and one MEDIA_ROOT shared by
every process: the old path keeps working."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.test import Client

from billing_jobs.models import JobRun, JobStatus
from billing_jobs.selectors import latest_due_period, missing_charges
from billing_jobs.tests.factories import assert_ledger_consistent, consumptions
from customers.models import CustomerAccount, CustomerStatus
from exports.models import ExportJob, ExportStatus
from msp_portal import dates
from points.selectors import pool_balance

from .s3server import free_port
from .topology import WEB_COMMAND, worker_command

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TIMEOUT = 90
RETRY_CODE = "two-node-retry"
BULK_ACCOUNTS = 120
CHUNK_SIZE = 6
CSRF = "c" * 32  # an unmasked CSRF secret, sent as both the cookie and the header
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BIN = Path(sys.executable).parent


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Process:
    """One web or worker process of a node, its output in a log file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], root: Path):
        self.name = name
        self.command = [str(BIN / command[0]), *command[1:]]
        self.env = env
        self.root = root
        self.log_path = root / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> Process:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603
                self.command,
                cwd=settings.BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Cluster:
    def __init__(self, root: Path, base_env: dict[str, str]):
        self.root = root
        self.base_env = base_env
        self.processes: list[Process] = []

    def node_env(self, name: str, shared_media: Path | None, extra: dict[str, str] | None = None) -> dict[str, str]:
        home = self.root / name
        media = shared_media or home / "media"
        tmp = home / "tmp"
        media.mkdir(parents=True, exist_ok=True)
        tmp.mkdir(parents=True, exist_ok=True)
        return {**self.base_env, "MEDIA_ROOT": str(media), "TMPDIR": str(tmp), "PORTAL_VAR_DIR": str(home / "var")}

    def add(self, name: str, command: list[str], env: dict[str, str]) -> Process:
        process = Process(name, command, env, self.root)
        self.processes.append(process)
        return process

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.output()[-3000:]}" for p in self.processes)

    def stop_all(self) -> None:
        for process in self.processes:
            process.stop(signal.SIGKILL, timeout=10)


def wait_for(predicate, cluster: Cluster, what: str, timeout: float = TIMEOUT, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}\n{cluster.logs()}")


def web_session(client: Client, base: str) -> requests.Session:
    """A browser of `base` signed in with the test client's session (stored in PostgreSQL,
    which every web process reads)."""
    session = requests.Session()
    session.cookies.set(settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value)
    session.cookies.set(settings.CSRF_COOKIE_NAME, CSRF)
    session.headers["X-CSRFToken"] = CSRF
    session.base = base
    return session


def get(session: requests.Session, path: str, **kwargs) -> requests.Response:
    return session.get(f"{session.base}{path}", allow_redirects=False, timeout=30, **kwargs)


def post(session: requests.Session, path: str, data: dict) -> requests.Response:
    return session.post(f"{session.base}{path}", data=data, allow_redirects=False, timeout=30)


def workbook_parts(data: bytes) -> dict[str, bytes]:
    """The workbook's parts; docProps/core.xml without its created/modified instants (the
    moment each file was written), which are the only bytes that may differ."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = {name: archive.read(name) for name in sorted(archive.namelist())}
    parts["docProps/core.xml"] = re.sub(
        rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)", rb"\1\3", parts["docProps/core.xml"]
    )
    return parts


def worker_ran(process: Process, task: str) -> bool:
    return bool(re.search(rf"Task {re.escape(task)}\[[0-9a-f-]+\] succeeded", process.output()))


@pytest.fixture
def cluster(broker):
    root = Path(tempfile.mkdtemp(prefix="portal-two-nodes-"))
    base_env = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("EXPORTS_S3_", "PYTEST_"))},
        "DATABASE_URL": _database_url(),
        **broker.env(),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "EMAIL_URL": "consolemail://",
        "PORTAL_BILLING_CHUNK_SIZE": str(CHUNK_SIZE),
        "PORTAL_EXPORT_DIRECT_MAX_ROWS": "5",
        "WEB_CONCURRENCY": "2",
        "PYTHONUNBUFFERED": "1",
    }
    cluster = Cluster(root, base_env)
    yield cluster
    cluster.stop_all()
    import shutil

    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("layout", ["object_storage", "single_host"])
def test_two_nodes_share_nothing_but_the_database_the_broker_and_the_bucket(
    layout,
    cluster,
    broker,
    request,
    client_for,
    msp_admin,
    operator_user,
    msp_org,
    other_msp_org,
    settings,
):
    from customers.tests.factories import CustomerAccountFactory
    from points.tests.helpers import fund

    storage_env: dict[str, str] = {}
    shared_media = None
    if layout == "object_storage":
        s3_server = request.getfixturevalue("s3_server")
        bucket = s3_server.create_bucket(f"two-nodes-{uuid.uuid4().hex[:10]}")
        storage_env = s3_server.env(bucket)
    else:
        shared_media = cluster.root / "shared-media"

    # The data the nodes work on: accounts that owe the 25th, a funded pool.
    run_date = dates.charge_date(latest_due_period(dates.today()))
    activated = dates.start_of_day(run_date - dt.timedelta(days=20))
    for organization, count in ((msp_org, BULK_ACCOUNTS * 2 // 3), (other_msp_org, BULK_ACCOUNTS // 3)):
        CustomerAccountFactory.create_batch(
            count, organization=organization, activated_at=activated, contracted_users=12
        )
    fund(msp_org, 1000)

    ports = {"a": free_port(), "b": free_port()}
    webs, workers, worker_envs = {}, {}, {}
    for node in ("a", "b"):
        env = cluster.node_env(f"web-{node}", shared_media, storage_env)
        env |= storage_env | {"GUNICORN_BIND": f"127.0.0.1:{ports[node]}"}
        webs[node] = cluster.add(f"web-{node}", WEB_COMMAND, env).start()
        worker_envs[node] = cluster.node_env(f"worker-{node}", shared_media) | storage_env
    # Worker A also writes the exports; only worker A's provisioning backend fails RETRY_CODE.
    worker_envs["a"]["PORTAL_SIMULATED_PROVISIONING_FAIL_CODES"] = RETRY_CODE
    queues = {"a": "billing,exports,default", "b": "billing,default"}
    test_flags = ["--pool=solo", "--without-gossip", "--without-mingle", "--without-heartbeat"]

    def new_worker(node: str) -> Process:
        command = [*worker_command(queues[node]), *test_flags, f"--hostname={node}-{uuid.uuid4().hex[:6]}@%h"]
        return cluster.add(f"worker-{node}", command, worker_envs[node])

    workers["a"] = new_worker("a").start()
    bases = {node: f"http://127.0.0.1:{port}" for node, port in ports.items()}
    for node, base in bases.items():
        wait_for(lambda base=base: _answers(f"{base}/healthz"), cluster, f"web {node} to answer /healthz", interval=0.3)
    msp = {node: web_session(client_for(msp_admin), base) for node, base in bases.items()}
    operator = {node: web_session(client_for(operator_user), base) for node, base in bases.items()}

    # Points: the MSP moves 120 points from its pool to one account, through web B.
    target = CustomerAccount.objects.filter(organization=msp_org).order_by("pk").first()
    form = get(msp["b"], f"/points/customers/{target.pk}/change/")
    assert form.status_code == 200, form.text[:500]
    token = re.search(r'name="token" value="([^"]+)"', form.text).group(1)
    moved = post(
        msp["b"], f"/points/customers/{target.pk}/change/", {"operation": "add", "amount": "120", "token": token}
    )
    assert moved.status_code in (200, 302), moved.text[:500]
    assert pool_balance(msp_org.pk) == 880
    assert CustomerAccount.objects.with_points().get(pk=target.pk).points_balance == 120

    # A background export queued on web A, written by worker A, downloaded through web B.
    query = "sort=account_code"
    queued = get(msp["a"], f"/exports/customers.xlsx?{query}")
    assert queued.status_code == 302 and "/exports/" in queued.headers["Location"], queued.text[:300]
    job = wait_for(
        lambda: ExportJob.objects.filter(status__in=[ExportStatus.DONE, ExportStatus.FAILED]).first(),
        cluster,
        "the export job",
    )
    assert job.status == ExportStatus.DONE, job.error
    assert worker_ran(workers["a"], "exports.tasks.run_export_job")
    # The task's log line carries the id of the request that queued it, on another process.
    request_id = queued.headers["X-Request-ID"]
    wait_for(
        lambda: f"[{request_id}] Export job {job.pk} written" in workers["a"].output(),
        cluster,
        "the export's log line with the request id",
    )
    download = get(msp["b"], f"/exports/{job.pk}/download")
    if layout == "object_storage":
        assert download.status_code == 302, download.text[:300]
        location = download.headers["Location"]
        assert location.startswith(s3_server.endpoint)
        served = requests.get(location, timeout=30)
        assert served.status_code == 200
        assert served.headers["Content-Disposition"].startswith("attachment; filename=")
        data = served.content
        assert s3_server.keys(bucket) == [job.file_path]
        # Nothing on any node's disk: the file lives in the bucket only.
        assert not list(cluster.root.glob("*/media/exports/*"))
    else:
        assert download.status_code == 200, download.text[:300]
        assert download.headers["Content-Type"] == XLSX
        data = download.content
        assert (shared_media / job.file_path).is_file()
    assert not [path for path in cluster.root.glob("*/tmp/*") if path.is_file()], "a temporary file was left"
    settings.PORTAL_EXPORT_DIRECT_MAX_ROWS = 100_000
    direct = client_for(msp_admin).get(f"/exports/customers.xlsx?{query}")
    assert direct.status_code == 200 and direct["Content-Type"] == XLSX
    assert workbook_parts(data) == workbook_parts(b"".join(direct.streaming_content))

    # Register (web A) and approve (web B): worker A's first provisioning attempt fails.
    registered = post(
        msp["a"],
        "/customers/register/",
        {
            "account_code": RETRY_CODE,
            "company_name": "ツーノード株式会社",
            "email_domain": "two-node.example.jp",
            "country": "日本",
            "contracted_users": "15",
        },
    )
    assert registered.status_code == 302, registered.text[:800]
    customer = CustomerAccount.objects.get(account_code=RETRY_CODE)
    assert customer.status == CustomerStatus.PENDING_APPROVAL
    approved = post(operator["b"], f"/customers/{customer.pk}/approve/", {})
    assert approved.status_code == 302, approved.text[:800]
    wait_for(
        lambda: CustomerAccount.objects.filter(pk=customer.pk, provisioning_attempts=1).exists(),
        cluster,
        "worker A's failed provisioning attempt",
    )
    wait_for(
        lambda: re.search(r"Task accounts\.tasks\.provision_customer\[[0-9a-f-]+\] retry", workers["a"].output()),
        cluster,
        "worker A to queue the retry",
    )
    # Worker A goes away (warm shutdown: the retry it holds goes back to the queue); worker B
    # takes the retry, then worker A comes back for the run.
    workers["a"].stop()
    workers["b"] = new_worker("b").start()
    wait_for(
        lambda: re.search(r"Task accounts\.tasks\.provision_customer\[[0-9a-f-]+\] received", workers["b"].output()),
        cluster,
        "worker B to receive the retry",
    )
    workers["a"] = new_worker("a").start()
    wait_for(lambda: workers["a"].output().count(" ready.") >= 2, cluster, "worker A to be back")

    # The 25th's run, fanned out over both workers.
    producer = broker.producer()
    producer.send_task("billing_jobs.tasks.run_daily_billing", args=[run_date.isoformat(), "two-node test"])
    producer.close()
    run = wait_for(
        lambda: JobRun.objects.filter(status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED]).first(),
        cluster,
        "the daily run",
    )
    assert run.status == JobStatus.SUCCEEDED, run.errors
    assert run.chunks_total >= BULK_ACCOUNTS // CHUNK_SIZE
    assert worker_ran(workers["a"], "billing_jobs.tasks.charge_chunk")
    assert worker_ran(workers["b"], "billing_jobs.tasks.charge_chunk")
    charges = consumptions(period=dates.period_of(run_date))
    assert charges.count() == charges.values("customer").distinct().count() >= BULK_ACCOUNTS
    assert missing_charges(run_date) == []

    # The retry, run by worker B (whose backend does not fail), activates the account.
    wait_for(
        lambda: CustomerAccount.objects.filter(pk=customer.pk, status=CustomerStatus.ACTIVE).exists(),
        cluster,
        "worker B's provisioning retry",
    )
    wait_for(lambda: worker_ran(workers["b"], "accounts.tasks.provision_customer"), cluster, "worker B's log")
    assert not worker_ran(workers["a"], "accounts.tasks.provision_customer")
    assert CustomerAccount.objects.get(pk=customer.pk).provisioning_attempts >= 1
    assert_ledger_consistent()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
