"""The dashboard per role, the health check and the error pages."""

import re
import socket

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.tests.factories import CustomerAccountFactory


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Health check ---------------------------------------------------------------------------------


def test_the_health_check_reports_database_and_broker_ok(client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json()["database"] == "ok" and response.json()["broker"] == "ok"


def test_the_health_check_answers_503_when_the_broker_is_unreachable(client, db, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_unused_port()}/0"
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable" and response.json()["broker"] != "ok"
    assert response.json()["database"] == "ok"


@pytest.mark.redis
def test_the_health_check_reports_a_redis_broker_ok(client, db, settings):
    import os

    settings.CELERY_BROKER_URL = os.environ["REDIS_URL"]
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json()["broker_transport"] == "redis"


def test_the_health_check_takes_only_get(client, db):
    assert client.post(reverse("healthz")).status_code == 405


def test_the_favicon_answers_on_every_page(client, db):
    # /favicon.ico, which browsers ask for unprompted, leads to the icon WhiteNoise serves.
    response = client.get("/favicon.ico", follow=True)
    assert response.status_code == 200
    assert b"".join(response.streaming_content if response.streaming else [response.content])[:4] == b"\0\0\1\0"
    body = client.get(reverse("login")).content.decode()
    assert re.search(r'<link rel="icon" href="[^"]*portal/favicon\.ico"', body)


# --- Error pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "text"), [("ja", "ページが見つかりません"), ("en", "Page not found")])
def test_the_404_page_speaks_the_users_language(client, db, language, text):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert text in response.content.decode()


@pytest.mark.parametrize(("language", "text"), [("ja", "アクセスが拒否されました"), ("en", "Access denied")])
def test_the_403_page_speaks_the_users_language(client_for, msp_viewer, language, text):
    client = client_for(msp_viewer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(reverse("staff_list"))
    assert response.status_code == 403
    assert text in response.content.decode()


@pytest.mark.parametrize(("language", "text"), [("ja", "サーバーエラー"), ("en", "Server error")])
def test_the_500_page_needs_no_request_context(db, settings, language, text):
    settings.ROOT_URLCONF = "msp_portal.tests.urls_failing"
    client = Client(raise_request_exception=False)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get("/boom/")
    assert response.status_code == 500
    assert text in response.content.decode()


# --- Dashboard --------------------------------------------------------------------------------------


def test_msp_staff_see_their_customers_by_status_and_pending_applications(
    client_for, msp_viewer, msp_org, other_msp_org
):
    CustomerAccountFactory.create_batch(2, organization=msp_org, status="pending_approval")
    CustomerAccountFactory(organization=msp_org, status="active")
    CustomerAccountFactory(organization=other_msp_org, status="pending_approval")
    response = client_for(msp_viewer).get(reverse("dashboard"))
    counts = {value: count for value, _label, count in response.context["status_counts"]}
    assert counts["pending_approval"] == 2 and counts["active"] == 1
    assert response.context["pending_count"] == 2


def test_the_operator_sees_the_approval_queue_across_all_msps(client_for, operator_user, msp_org, other_msp_org):
    CustomerAccountFactory(organization=msp_org, status="pending_approval")
    CustomerAccountFactory(organization=other_msp_org, status="pending_approval")
    CustomerAccountFactory(organization=other_msp_org, status="active")
    response = client_for(operator_user).get(reverse("dashboard"))
    assert response.context["pending_count"] == 2
    assert "active" not in {value for value, _label, _count in response.context["status_counts"]}
    assert 'data-testid="pending-approvals"' in response.content.decode()


def test_support_staff_see_the_count_of_their_assigned_customers(client_for, support_user, support_org, msp_org):
    CustomerAccountFactory.create_batch(3, organization=msp_org, support_account=support_org)
    CustomerAccountFactory(organization=msp_org)
    response = client_for(support_user).get(reverse("dashboard"))
    assert response.context["assigned_count"] == 3


def test_the_dashboard_reads_as_many_queries_whatever_the_data(client_for, msp_admin, msp_org):
    CustomerAccountFactory.create_batch(2, organization=msp_org)
    client = client_for(msp_admin)
    client.get(reverse("dashboard"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("dashboard"))
    # Every panel with something to show: applications, shortages, suspensions.
    CustomerAccountFactory.create_batch(8, organization=msp_org, status="pending_approval")
    CustomerAccountFactory.create_batch(6, organization=msp_org, estimated_balance=-30)
    CustomerAccountFactory.create_batch(3, organization=msp_org, suspended_at=timezone.now())
    with CaptureQueriesContext(connection) as many:
        body = client.get(reverse("dashboard")).content.decode()
    assert 'data-testid="panel-applications"' in body and 'data-testid="panel-suspended"' in body
    # Only the panels that had nothing to show before add a query (their own, bounded one).
    assert len(many.captured_queries) <= len(few.captured_queries) + 2


def test_the_dashboard_takes_only_get(client_for, msp_admin):
    assert client_for(msp_admin).post(reverse("dashboard")).status_code == 405
