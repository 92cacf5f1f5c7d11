import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing_jobs.models import JobRun
from billing_jobs.services import run_billing
from customers.models import CustomerStatus

from .factories import active_customer, at

pytestmark = pytest.mark.django_db

D = dt.date
NOW = at(D(2026, 11, 10), 14)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def customer(msp_org):
    return active_customer(msp_org, activated=at(D(2026, 10, 26)), users=20, points=50)


def test_the_job_pages_list_runs_and_show_results(client_for, operator_user, operator_viewer, customer):
    with time_machine.travel(at(D(2026, 11, 25), 1), tick=False):
        job = run_billing(D(2026, 11, 25))
    for user in (operator_user, operator_viewer):
        client = client_for(user)
        listing = client.get("/jobs/")
        assert listing.status_code == 200
        assert f"/jobs/{job.pk}/" in listing.content.decode()
        detail = client.get(f"/jobs/{job.pk}/").content.decode()
        assert "2026-11" in detail and "成功" in detail


def test_the_job_pages_are_for_operators_only(client_for, msp_admin):
    job = JobRun.objects.create(kind="daily", run_date=D(2026, 11, 25))
    client = client_for(msp_admin)
    assert client.get("/jobs/").status_code == 403
    assert client.get(f"/jobs/{job.pk}/").status_code == 403


def test_the_job_list_rejects_posts(client_for, operator_user):
    assert client_for(operator_user).post("/jobs/").status_code == 405


def test_the_job_list_runs_a_fixed_number_of_queries(client_for, operator_user, django_assert_num_queries):
    client = client_for(operator_user)
    client.get("/jobs/")
    for n in range(3):
        JobRun.objects.create(kind="daily", run_date=D(2026, 11, 1 + n))
    with CaptureQueriesContext(connection) as first:
        client.get("/jobs/")
    for n in range(30):
        JobRun.objects.create(kind="daily", run_date=D(2026, 10, 1 + n % 28))
    with django_assert_num_queries(len(first.captured_queries)):
        client.get("/jobs/")


@pytest.mark.parametrize(("old", "new"), [("cancel", "cancel"), ("cancellation-date", "cancellation-date")])
def test_the_popups_old_addresses_send_to_the_customers_app_keeping_the_query_and_the_post(
    client_for, msp_admin, customer, old, new
):
    client = client_for(msp_admin)
    response = client.get(f"/jobs/customers/{customer.pk}/{old}/?cancellation_date=2026-12-01&next=/dashboard/")
    assert response.status_code == 308
    assert response["Location"] == f"/customers/{customer.pk}/{new}/?cancellation_date=2026-12-01&next=/dashboard/"
    # 308: the browser posts again to the new address, so a posted popup is not lost.
    assert client.post(f"/jobs/customers/{customer.pk}/{old}/", {"agreed": "on"}).status_code == 308


def test_the_old_addresses_follow_through_to_the_cancellation(client_for, msp_admin, customer):
    response = client_for(msp_admin).post(f"/jobs/customers/{customer.pk}/cancel/", {"agreed": "on"}, follow=True)
    assert response.redirect_chain[0] == (f"/customers/{customer.pk}/cancel/", 308)
    customer.refresh_from_db()
    assert customer.status == CustomerStatus.CANCELLED


def test_the_old_addresses_check_permissions_as_the_popups_do(client_for, msp_viewer, other_msp_admin, customer):
    assert client_for(msp_viewer).get(f"/jobs/customers/{customer.pk}/cancel/").status_code == 403
    assert client_for(other_msp_admin).get(f"/jobs/customers/{customer.pk}/cancellation-date/").status_code == 404
