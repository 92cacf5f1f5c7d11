"""The dashboard's panels: each answers its question for the viewer's scope and links to the
filtered list that holds the answer."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from billing_jobs.models import JobRun
from customers.dashboard import DASHBOARD_PANELS
from customers.tests.factories import CustomerAccountFactory
from msp_portal import dates
from points.ledger import pool_for

pytestmark = pytest.mark.django_db

# Friday 2026-12-18, noon in Tokyo: the next charge is 12/25, in 7 days.
NOW = dt.datetime(2026, 12, 18, 3, 0, tzinfo=dt.UTC)


def panels(response) -> dict:
    return {panel["key"]: panel["context"] for panel in response.context["panels"]}


def test_the_apps_register_their_panels_in_the_page_order():
    assert [panel.key for panel in DASHBOARD_PANELS] == [
        "shortage",
        "purchase_requests",
        "applications",
        "cancellations_due",
        "suspended",
        "pool_chart",
        "last_runs",
        "merge_requests",
        "merge_suggestions",
    ]


@time_machine.travel(NOW, tick=False)
def test_the_shortage_panel_sets_the_points_needed_against_the_pool(client_for, msp_admin, msp_org, other_msp_org):
    CustomerAccountFactory(organization=msp_org, estimated_balance=-120)
    CustomerAccountFactory(organization=msp_org, estimated_balance=-30)
    CustomerAccountFactory(organization=msp_org, estimated_balance=500)
    CustomerAccountFactory(organization=other_msp_org, estimated_balance=-999)
    response = client_for(msp_admin).get(reverse("dashboard"))
    shortage = panels(response)["shortage"]
    assert (shortage["count"], shortage["need"], shortage["pool"]) == (2, 150, pool_for(msp_org.pk).balance)
    assert shortage["covered"] is False
    assert (shortage["charge_day"], shortage["days_left"]) == (dt.date(2026, 12, 25), 7)
    assert shortage["url"] == reverse("customers:list") + "?shortage=yes&sort=estimated_balance"
    body = response.content.decode()
    assert 'data-testid="shortage-need">150<' in body and "12/25" in body


@time_machine.travel(NOW, tick=False)
def test_the_applications_panel_lists_the_oldest_with_their_promised_date(client_for, msp_admin, msp_org):
    old = CustomerAccountFactory(
        organization=msp_org, status="pending_approval", submitted_at=NOW - dt.timedelta(days=10)
    )
    CustomerAccountFactory(organization=msp_org, status="pending_approval", submitted_at=NOW)
    CustomerAccountFactory(organization=msp_org, status="active")
    applications = panels(client_for(msp_admin).get(reverse("dashboard")))["applications"]
    assert applications["total"] == 2
    first = applications["rows"][0]
    assert first["customer"] == old and first["overdue"] is True
    assert applications["rows"][1]["overdue"] is False


@time_machine.travel(NOW, tick=False)
def test_the_operator_sees_the_queue_by_age_and_the_latest_runs(client_for, operator_user, msp_org):
    CustomerAccountFactory(organization=msp_org, status="pending_approval", submitted_at=NOW)
    CustomerAccountFactory(organization=msp_org, status="provisioning_failed", submitted_at=NOW - dt.timedelta(days=30))
    JobRun.objects.create(kind="daily", run_date=dates.today(), status="failed")
    response = client_for(operator_user).get(reverse("dashboard"))
    found = panels(response)
    histogram = found["applications"]["histogram"]
    assert histogram[0]["count"] == 1 and histogram[-1]["overdue"] and histogram[-1]["count"] == 1
    assert found["last_runs"]["failed"] is True
    assert "shortage" not in found and "suspended" not in found


@time_machine.travel(NOW, tick=False)
def test_cancellations_due_count_this_month_only(client_for, msp_admin, msp_org):
    CustomerAccountFactory(organization=msp_org, cancellation_date=dt.date(2026, 12, 31))
    CustomerAccountFactory(organization=msp_org, cancellation_date=dt.date(2027, 1, 5))
    due = panels(client_for(msp_admin).get(reverse("dashboard")))["cancellations_due"]
    assert due["count"] == 1 and due["month_end"] == dt.date(2026, 12, 31)


def test_the_suspended_panel_links_to_the_list_of_suspended_accounts(client_for, msp_admin, msp_org):
    from django.utils import timezone

    suspended = CustomerAccountFactory(organization=msp_org, suspended_at=timezone.now(), account_code="held-01")
    CustomerAccountFactory(organization=msp_org, account_code="fine-02")
    client = client_for(msp_admin)
    panel = panels(client.get(reverse("dashboard")))["suspended"]
    assert panel["count"] == 1
    listed = client.get(panel["url"]).content.decode()
    assert suspended.account_code in listed and "fine-02" not in listed


def test_support_staff_see_no_points_panels(client_for, support_user, support_org, msp_org):
    CustomerAccountFactory(organization=msp_org, support_account=support_org, estimated_balance=-5)
    found = panels(client_for(support_user).get(reverse("dashboard")))
    assert "shortage" not in found and "pool_chart" not in found and "applications" not in found
