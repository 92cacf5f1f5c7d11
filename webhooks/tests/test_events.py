"""Each event type is published by the service where its change happens, with the documented
payload, to exactly the endpoints that receive it; publishing costs one query when nobody
listens and nothing per account in the monthly run."""

import datetime as dt

import pytest
import time_machine

from accounts.tests.factories import OrganizationFactory, UserFactory
from billing_jobs.services import _publish_run_completed, queue_shortage_reminders, run_billing
from billing_jobs.tests.factories import active_customer, at
from customers import hooks
from customers import services as customer_services
from customers.cancellation import customer_cancel, customer_schedule_cancellation
from customers.tests.factories import CustomerAccountFactory
from merges import services as merge_services
from merges.tests.factories import active, merge_request, transfer_request
from msp_portal.permissions import OrganizationKind
from points import services as point_services
from points.estimates import refresh_estimates
from points.tests.helpers import fund, give, key, take
from webhooks.events import EVENT_TYPE_NAMES
from webhooks.models import Delivery, Endpoint, Message

pytestmark = pytest.mark.django_db

NOW = at(dt.date(2026, 11, 10), 12)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def subscribe(organization, *types):
    return Endpoint.objects.create(
        organization=organization, url="https://hooks.example.com/in", event_types=list(types or EVENT_TYPE_NAMES)
    )


def events(event_type=None):
    queryset = Message.objects.order_by("pk")
    if event_type:
        queryset = queryset.filter(event_type=event_type)
    return list(queryset)


def only(event_type):
    [message] = events(event_type)
    assert message.payload["type"] == event_type
    return message.payload["data"]


def registration(**overrides):
    return {
        "account_code": "sakura-trading",
        "company_name": "株式会社さくら商事",
        "email_domain": "sakura.example.jp",
        "contracted_users": 25,
        "reseller_name": "関西システム販売",
    } | overrides


def test_the_customers_lifecycle_publishes_each_of_its_events_with_the_customer(
    msp_org, msp_admin, operator_user, settings
):
    subscribe(msp_org)
    customer = customer_services.customer_register(actor=msp_admin, organization=msp_org, data=registration())
    data = only("customer.registered")
    assert data["customer"] == {
        "id": customer.pk,
        "code": "sakura-trading",
        "company": "株式会社さくら商事",
        "company_kana": "",
        "email_domain": "sakura.example.jp",
        "status": "pending_approval",
        "msp_id": msp_org.pk,
        "contracted_users": 25,
        "points_balance": 0,
        "estimated_balance": 0,
        "cancellation_date": None,
        "suspended": False,
        "reseller_name": "関西システム販売",
        "registered_at": NOW.astimezone(dt.UTC).isoformat(),
        "activated_at": None,
        "cancelled_at": None,
    }
    customer_services.customer_reject(actor=operator_user, customer=customer, reason="住所が未記入です")
    assert only("customer.rejected")["reason"] == "住所が未記入です"
    assert only("customer.rejected")["customer"]["status"] == "rejected"
    customer_services.customer_resubmit(actor=msp_admin, customer=customer, changes={})
    customer_services.customer_approve(actor=operator_user, customer=customer)
    assert only("customer.approved")["customer"]["status"] == "provisioning"
    customer_services.customer_provision(customer_id=customer.pk)
    assert only("customer.provisioned")["customer"]["status"] == "active"
    customer_services.customer_change_contract(actor=msp_admin, customer=customer, contracted_users=40)
    assert only("customer.contract_changed")["contracted_users"] == {"old": 25, "new": 40}
    customer_schedule_cancellation(
        actor=msp_admin, customer=customer, cancellation_date=dt.date(2026, 12, 31), agreed=True
    )
    data = only("customer.cancellation_scheduled")
    assert (data["customer"]["cancellation_date"], data["previous_cancellation_date"]) == ("2026-12-31", None)
    customer.refresh_from_db()
    customer_cancel(actor=msp_admin, customer=customer, agreed=True)
    data = only("customer.cancelled")
    assert (data["customer"]["status"], data["scheduled"]) == ("cancelled", False)
    assert data["customer"]["cancelled_at"] == NOW.astimezone(dt.UTC).isoformat()


def test_a_final_provisioning_failure_is_published_with_its_error(msp_org, operator_user):
    subscribe(msp_org, "customer.provisioning_failed")
    customer = CustomerAccountFactory(organization=msp_org, status="provisioning")
    customer_services.customer_provisioning_failed(customer_id=customer.pk, error="tenant exists", final=False)
    assert events() == []
    customer_services.customer_provisioning_failed(customer_id=customer.pk, error="tenant exists", final=True)
    data = only("customer.provisioning_failed")
    assert (data["error"], data["customer"]["status"]) == ("tenant exists", "provisioning_failed")


def test_a_merge_is_published_on_the_absorbed_account_naming_the_survivor(msp_org, msp_admin):
    subscribe(msp_org, "customer.merged")
    colleague = UserFactory(membership__organization=msp_org, membership__role="admin")
    absorbed = active(msp_org, email_domain="same.example.jp", points=40)
    survivor = active(msp_org, email_domain="same.example.jp", points=60)
    request = merge_request(msp_admin, absorbed, survivor, survivor_is_other=True)
    assert events() == []
    merge_services.request_approve(actor=colleague, account_request=request, confirmation=absorbed.account_code)
    data = only("customer.merged")
    assert data["customer"]["code"] == absorbed.account_code
    assert data["customer"]["status"] == "merged"
    assert data["survivor"] == {"id": survivor.pk, "code": survivor.account_code}
    assert data["points_moved"] == 40


def test_a_transfer_is_published_to_the_msp_it_joined_and_the_one_it_left(
    msp_org, other_msp_org, operator_user, operator_org
):
    joined, left = subscribe(other_msp_org, "customer.transferred"), subscribe(msp_org, "customer.transferred")
    customer = active(msp_org)
    transfer_request(operator_user, customer, other_msp_org)
    messages = events("customer.transferred")
    assert {message.organization_id for message in messages} == {msp_org.pk, other_msp_org.pk}
    for message in messages:
        assert message.payload["data"]["from_msp_id"] == msp_org.pk
        assert message.payload["data"]["to_msp_id"] == other_msp_org.pk
        assert message.payload["data"]["customer"]["msp_id"] == other_msp_org.pk
    assert {delivery.endpoint_id for delivery in Delivery.objects.all()} == {joined.pk, left.pk}


def test_points_moves_publish_points_changed_with_the_balance_after(msp_org, msp_admin):
    subscribe(msp_org, "points.changed")
    customer = active(msp_org)
    fund(msp_org, 1000)
    give(customer, 300, actor=msp_admin)
    take(customer, 500, actor=msp_admin)
    first, second = events("points.changed")
    assert first.payload["data"]["change"]["kind"] == "allocate"
    assert first.payload["data"]["change"]["points"] == 300
    assert first.payload["data"]["customer"]["points_balance"] == 300
    assert second.payload["data"]["change"]["points"] == -500
    assert second.payload["data"]["customer"]["points_balance"] == -200
    point_services.points_replenish(actor=msp_admin, customers=[customer], batch_key=key("batch"))
    third = events("points.changed")[2].payload["data"]
    assert third["change"]["kind"] == "replenish"
    assert third["customer"]["estimated_balance"] == 0


def test_the_endpoints_that_receive_an_event_are_the_msps_its_privileged_parents_and_the_operators(
    msp_org, pmsp_org, other_msp_org, operator_org, msp_admin
):
    own, parent, operator = subscribe(msp_org), subscribe(pmsp_org), subscribe(operator_org)
    subscribe(other_msp_org)
    subscribe(msp_org, "points.changed")  # another type only
    Endpoint.objects.create(
        organization=msp_org, url="https://x.example/", event_types=["customer.registered"], enabled=False
    )
    Endpoint.objects.create(
        organization=msp_org, url="https://y.example/", event_types=["customer.registered"], deleted_at=NOW
    )
    customer_services.customer_register(actor=msp_admin, organization=msp_org, data=registration())
    assert len(events()) == 1
    assert {delivery.endpoint_id for delivery in Delivery.objects.all()} == {own.pk, parent.pk, operator.pk}


def test_publishing_costs_one_query_when_no_endpoint_subscribes(msp_org, other_msp_org, django_assert_num_queries):
    subscribe(other_msp_org, "customer.registered")
    subscribe(msp_org, "points.changed")
    customers = [CustomerAccountFactory(organization=msp_org) for _ in range(5)]
    with django_assert_num_queries(1):
        hooks.customer_events("customer.approved", [(customer, {}) for customer in customers])
    with django_assert_num_queries(1):
        hooks.organization_events("billing.run_completed", lambda ids: pytest.fail("asked for payloads"))
    assert events() == []


def _month_run(organizations, accounts_each):
    customers = []
    for organization in organizations:
        fund(organization, 100_000)
        for _ in range(accounts_each):
            customers.append(active_customer(organization, activated=at(dt.date(2026, 10, 1)), users=10, points=100))
    with time_machine.travel(at(dt.date(2026, 11, 25), 1), tick=False):
        return run_billing(dt.date(2026, 11, 25)), customers


def test_the_monthly_run_publishes_one_event_per_subscribed_msp_with_its_totals(msp_org, other_msp_org):
    quiet = OrganizationFactory(kind=OrganizationKind.MSP)
    subscribe(msp_org, "billing.run_completed")
    subscribe(other_msp_org, "billing.run_completed")
    job, customers = _month_run([msp_org, other_msp_org, quiet], 3)
    messages = events("billing.run_completed")
    assert [message.organization_id for message in messages] == sorted([msp_org.pk, other_msp_org.pk])
    data = messages[0].payload["data"]
    charged = [c for c in customers if c.organization_id == messages[0].organization_id]
    points = sum(100 - c.__class__.objects.with_points().get(pk=c.pk).points_balance for c in charged)
    assert data["job_run_id"] == job.pk
    assert data["run_date"] == "2026-11-25"
    assert data["accounts_charged"] == 3
    assert data["points_charged"] == points > 0
    assert data["periods"] == {"2026-11": {"accounts": 3, "points": points}}
    # No event per charged account.
    assert events("points.changed") == []


@pytest.mark.parametrize("accounts_each", [1, 8])
def test_publishing_the_run_asks_the_same_queries_whatever_the_number_of_accounts(
    msp_org, other_msp_org, accounts_each, django_assert_num_queries
):
    subscribe(msp_org, "billing.run_completed")
    job, _customers = _month_run([msp_org, other_msp_org], accounts_each)
    Delivery.objects.all().delete()
    Message.objects.all().delete()
    # The subscribed endpoints, the MSPs they receive for, their parents, the totals (one grouped
    # query); then the message and its delivery for the one subscribed MSP, in a savepoint.
    with django_assert_num_queries(8):
        _publish_run_completed(job)
    assert len(events("billing.run_completed")) == 1


def test_a_reminder_day_publishes_one_shortage_event_per_msp_listing_its_accounts(msp_org, other_msp_org):
    subscribe(msp_org, "points.shortage")
    subscribe(other_msp_org, "points.shortage")
    short = [active(msp_org, users=50), active(msp_org, users=60)]
    active(other_msp_org, users=10, points=10_000)
    refresh_estimates()
    queue_shortage_reminders(dt.date(2026, 11, 20))
    data = only("points.shortage")
    assert data["reminder_date"] == "2026-11-20"
    assert data["charge_day"] == "2026-11-25"
    assert {account["code"] for account in data["accounts"]} == {c.account_code for c in short}
    assert all(account["estimated_balance"] < 0 for account in data["accounts"])
    assert data["truncated"] is False
    # The reminder is recorded once per MSP and day: a re-run publishes nothing more.
    queue_shortage_reminders(dt.date(2026, 11, 20))
    assert len(events("points.shortage")) == 1
