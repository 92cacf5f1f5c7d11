"""Two-factor sign-in is required of every staff organization by default (issue 23): new
organizations from the start, existing ones after a grace period recorded per organization."""

import datetime as dt
from importlib import import_module

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse

from accounts.services import organization_create
from accounts.tests.factories import OrganizationFactory, UserFactory
from audit.models import AuditEvent
from conftest import PASSWORD, totp_token, two_factor_device
from msp_portal.permissions import OrganizationKind

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
migration = import_module("accounts.migrations.0009_two_factor_for_every_organization")


def _password_step(user):
    client = Client()
    response = client.post(reverse("login"), {"username": user.email, "password": PASSWORD})
    return client, response


@pytest.mark.parametrize("kind", [OrganizationKind.PRIVILEGED_MSP, OrganizationKind.MSP, OrganizationKind.OPERATOR])
def test_a_new_organization_requires_two_factor_from_the_start(db, kind):
    organization = organization_create(actor=None, name="新規組織", kind=kind)
    assert organization.require_two_factor and organization.two_factor_deadline is None
    member = UserFactory(membership__organization=organization, membership__role=_role(kind))
    _client, response = _password_step(member)
    assert response["Location"].startswith(reverse("two_factor_enrol"))


def test_a_new_support_account_requires_it_too(db, msp_org, msp_admin):
    from accounts.services import support_account_create

    support = support_account_create(actor=msp_admin, msp=msp_org, name="ヘルプデスク")
    assert support.require_two_factor and support.two_factor_enforced()


def _role(kind):
    return "operator_admin" if kind == OrganizationKind.OPERATOR else "admin"


def test_the_migration_gives_organizations_without_the_requirement_a_grace_period(db, time_machine, settings):
    time_machine.move_to(NOW, tick=False)
    settings.PORTAL_TWO_FACTOR_GRACE_DAYS = 14
    optional = OrganizationFactory(name="任意MSP", kind=OrganizationKind.MSP, require_two_factor=False)
    support = OrganizationFactory(
        name="任意サポート", kind=OrganizationKind.SUPPORT, parent=optional, require_two_factor=False
    )
    already = OrganizationFactory(name="必須MSP", kind=OrganizationKind.MSP, require_two_factor=True)
    operator = OrganizationFactory(name="運営", kind=OrganizationKind.OPERATOR, require_two_factor=False)
    migration.require_two_factor(apps, None)
    deadline = NOW + dt.timedelta(days=14)
    for organization in (optional, support):
        organization.refresh_from_db()
        assert organization.require_two_factor and organization.two_factor_deadline == deadline
        event = AuditEvent.objects.get(action="organization.two_factor", organization=organization)
        assert event.before == {"require_two_factor": False}
        assert event.after == {"require_two_factor": True, "two_factor_deadline": deadline.isoformat()}
    already.refresh_from_db()
    operator.refresh_from_db()
    assert already.two_factor_deadline is None and operator.require_two_factor
    assert operator.two_factor_deadline is None
    assert AuditEvent.objects.filter(action="organization.two_factor").count() == 2


def test_the_grace_period_follows_the_setting(db, time_machine, settings):
    time_machine.move_to(NOW, tick=False)
    settings.PORTAL_TWO_FACTOR_GRACE_DAYS = 3
    organization = OrganizationFactory(kind=OrganizationKind.MSP, require_two_factor=False)
    migration.require_two_factor(apps, None)
    organization.refresh_from_db()
    assert organization.two_factor_deadline == NOW + dt.timedelta(days=3)


@pytest.fixture
def in_grace(msp_org, time_machine):
    time_machine.move_to(NOW, tick=False)
    msp_org.two_factor_deadline = NOW + dt.timedelta(days=14)
    msp_org.save(update_fields=["two_factor_deadline"])
    return msp_org


def test_during_the_grace_period_a_member_signs_in_and_sees_the_deadline(in_grace, msp_sales):
    client, response = _password_step(msp_sales)
    assert response["Location"] == reverse("home")
    page = client.get(reverse("dashboard"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="two-factor-banner"' in html
    assert "2026-12-08 18:00" in html  # the deadline in Tokyo time
    # The banner leads to enrolment, which says the deadline too.
    assert "2026-12-08 18:00" in client.get(reverse("two_factor_enrol")).content.decode()


def test_a_member_with_a_second_factor_sees_no_banner(in_grace, msp_sales, client_for):
    two_factor_device(msp_sales)
    html = client_for(msp_sales).get(reverse("dashboard")).content.decode()
    assert 'data-testid="two-factor-banner"' not in html


def test_after_the_deadline_sign_in_goes_straight_to_enrolment(in_grace, msp_sales, time_machine):
    time_machine.move_to(NOW + dt.timedelta(days=14, seconds=1), tick=False)
    client, response = _password_step(msp_sales)
    assert response["Location"].startswith(reverse("two_factor_enrol"))
    assert client.get(reverse("dashboard"))["Location"].startswith(reverse("two_factor_enrol"))


def test_a_member_in_the_grace_period_cannot_turn_off_the_app_once_enrolled(in_grace, msp_sales, client_for):
    device = two_factor_device(msp_sales)
    client = client_for(msp_sales)
    client.post(reverse("two_factor_disable"), {"token": totp_token(device)})
    assert device.__class__.objects.filter(pk=device.pk).exists()


def test_the_staff_list_shows_who_has_not_enrolled(client_for, msp_admin, msp_sales, msp_viewer, in_grace):
    two_factor_device(msp_viewer)
    html = client_for(msp_admin).get(reverse("staff_list")).content.decode()
    assert html.count('data-testid="not-enrolled"') == 1  # msp_sales (the admin and viewer have one)
    assert 'data-testid="staff-not-enrolled"' in html
    assert "1 人" in html or "1人" in html
    assert "2026-12-08 18:00" in html


def test_customer_admins_are_not_required_but_may_opt_in(customer_admin):
    client, response = _password_step(customer_admin)
    assert not response["Location"].startswith(reverse("two_factor_enrol"))
    page = client.get(reverse("two_factor_enrol")).content.decode()
    assert 'data-testid="totp-secret"' in page
    assert "組織では二要素認証が必要です" not in page
