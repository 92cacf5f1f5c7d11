"""The 25th stays on time: with a backlog of large exports queued on a worker of their own (the
`exports` queue), the daily run on the `billing` worker completes while the exports are still
waiting, and each worker only ever ran the tasks of its own queue."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from billing_jobs.models import JobRun, JobStatus
from billing_jobs.selectors import latest_due_period, missing_charges
from billing_jobs.tests.factories import consumptions
from exports.datasets import get_dataset
from exports.models import ExportJob, ExportStatus
from msp_portal import dates

from .test_two_nodes import cluster, wait_for, worker_ran  # noqa: F401  (the fixture)
from .topology import worker_command

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EXPORT_BACKLOG = 150
ACCOUNTS = 90
TEST_FLAGS = ["--pool=solo", "--without-gossip", "--without-mingle", "--without-heartbeat"]


def test_the_daily_run_completes_while_large_exports_wait_on_their_own_worker(
    cluster,  # noqa: F811
    broker,
    msp_admin,
    msp_org,
):
    from customers.tests.factories import CustomerAccountFactory

    run_date = dates.charge_date(latest_due_period(dates.today()))
    activated = dates.start_of_day(run_date - dt.timedelta(days=20))
    CustomerAccountFactory.create_batch(ACCOUNTS, organization=msp_org, activated_at=activated, contracted_users=12)

    workers = {}
    for queue in ("exports", "billing"):
        env = cluster.node_env(f"worker-{queue}", None)
        command = [*worker_command(queue), *TEST_FLAGS, f"--hostname={queue}@%h"]
        workers[queue] = cluster.add(f"worker-{queue}", command, env).start()
    for queue, worker in workers.items():
        wait_for(lambda worker=worker: " ready." in worker.output(), cluster, f"the {queue} worker", interval=0.2)

    producer = broker.producer()
    try:
        # The backlog first: every export of the whole list, each a job of its own, queued as
        # export_job_start queues it (here through the broker, not this process's eager mode).
        dataset = get_dataset("customers")
        for number in range(EXPORT_BACKLOG):
            job = ExportJob.objects.create(
                requested_by=msp_admin,
                organization=msp_org,
                dataset=dataset.name,
                query_string=f"sort=account_code&page={number}",
                language="ja",
            )
            producer.send_task("exports.tasks.run_export_job", args=[str(job.pk)])
        producer.send_task("billing_jobs.tasks.run_daily_billing", args=[run_date.isoformat(), "queue test"])
    finally:
        producer.close()

    run = wait_for(
        lambda: JobRun.objects.filter(status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED]).first(),
        cluster,
        "the daily run",
    )
    waiting = ExportJob.objects.filter(status=ExportStatus.QUEUED).count()
    assert run.status == JobStatus.SUCCEEDED, run.errors
    assert waiting > 0, "the exports were all done before the run: the test proves nothing"
    assert consumptions(period=dates.period_of(run_date)).count() == ACCOUNTS
    assert missing_charges(run_date) == []

    # The exports go on, on their worker, to the end.
    wait_for(
        lambda: not ExportJob.objects.exclude(status=ExportStatus.DONE).exists(),
        cluster,
        "the export backlog",
        timeout=150,
        interval=0.5,
    )
    assert worker_ran(workers["exports"], "exports.tasks.run_export_job")
    assert not worker_ran(workers["exports"], "billing_jobs.tasks.charge_chunk")
    assert worker_ran(workers["billing"], "billing_jobs.tasks.charge_chunk")
    assert not re.search(r"Task exports\.tasks\.run_export_job\[", workers["billing"].output())
