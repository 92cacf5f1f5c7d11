"""The organization settings page: the two-factor requirement."""

from django.urls import reverse

from audit.models import AuditEvent


def test_an_msp_admin_requires_two_factor_for_the_organization(client_for, msp_admin, msp_org):
    _two_factor_optional(msp_org)
    client = client_for(msp_admin)
    assert client.get(reverse("organization_settings")).status_code == 200
    response = client.post(reverse("organization_settings"), {"require_two_factor": "on"})
    assert response.status_code == 302
    msp_org.refresh_from_db()
    assert msp_org.require_two_factor
    event = AuditEvent.objects.get(action="organization.two_factor")
    assert event.before == {"require_two_factor": False} and event.after == {"require_two_factor": True}
    # The admin, who has no device yet, is now sent to enrol.
    assert client.get(reverse("dashboard"))["Location"].startswith(reverse("two_factor_enrol"))


def test_saving_without_a_change_records_nothing(client_for, msp_admin):
    client_for(msp_admin).post(reverse("organization_settings"), {"require_two_factor": "on"})
    assert not AuditEvent.objects.exists()


def test_the_operator_cannot_turn_its_requirement_off(client_for, operator_user, operator_org):
    client_for(operator_user).post(reverse("organization_settings"), {})
    assert not AuditEvent.objects.filter(action="organization.two_factor").exists()


def test_other_roles_are_refused_and_nothing_changes(client_for, msp_viewer, msp_sales, support_user, msp_org):
    _two_factor_optional(msp_org)
    for user in (msp_viewer, msp_sales, support_user):
        assert client_for(user).post(reverse("organization_settings"), {"require_two_factor": "on"}).status_code == 403
    msp_org.refresh_from_db()
    assert not msp_org.require_two_factor


def test_the_settings_page_rejects_put(client_for, msp_admin):
    assert client_for(msp_admin).put(reverse("organization_settings")).status_code == 405


def _two_factor_optional(organization):
    """An organization whose admin turned the (default) two-factor requirement off."""
    organization.require_two_factor = False
    organization.save(update_fields=["require_two_factor"])
