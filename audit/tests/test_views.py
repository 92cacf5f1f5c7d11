"""The audit trail page and its CSV export."""

import datetime as dt

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from audit.services import audit_record
from customers.tests.factories import CustomerAccountFactory
from msp_portal import context


def _event(actor, action="staff.change_role", organization=None, **kwargs):
    with context.acting(ip="192.0.2.1", channel="web"):
        return audit_record(actor=actor, action=action, organization=organization, **kwargs)


def test_an_msp_admin_sees_the_events_of_their_organization_only(client_for, msp_admin, other_msp_admin):
    _event(msp_admin, action="staff.mine", obj=msp_admin)
    _event(other_msp_admin, action="staff.theirs", obj=other_msp_admin)
    page = client_for(msp_admin).get(reverse("audit_event_list")).content.decode()
    assert "staff.mine" in page and "staff.theirs" not in page


def test_a_privileged_msp_admin_also_sees_its_child_msps(client_for, pmsp_admin, msp_admin, other_msp_admin):
    _event(msp_admin, action="child.event")
    _event(other_msp_admin, action="stranger.event")
    page = client_for(pmsp_admin).get(reverse("audit_event_list")).content.decode()
    assert "child.event" in page and "stranger.event" not in page


def test_the_operator_sees_everything(client_for, operator_viewer, msp_admin, other_msp_admin):
    _event(msp_admin, action="one.event")
    _event(other_msp_admin, action="two.event")
    page = client_for(operator_viewer).get(reverse("audit_event_list")).content.decode()
    assert "one.event" in page and "two.event" in page


def test_events_are_listed_newest_first(client_for, msp_admin, time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC), tick=False)
    _event(msp_admin, action="first.event")
    time_machine.move_to(dt.datetime(2026, 11, 25, 1, 0, tzinfo=dt.UTC), tick=False)
    _event(msp_admin, action="second.event")
    page = client_for(msp_admin).get(reverse("audit_event_list")).content.decode()
    assert page.index("second.event") < page.index("first.event")


def test_filters_by_action_prefix_actor_dates_and_customer(client_for, msp_admin, msp_sales, msp_org, time_machine):
    customer = CustomerAccountFactory(organization=msp_org, account_code="acme-001")
    time_machine.move_to(dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC), tick=False)  # 25th 00:30 JST
    _event(msp_admin, action="customer.register", obj=customer)
    time_machine.move_to(dt.datetime(2026, 11, 24, 14, 30, tzinfo=dt.UTC), tick=False)  # 24th 23:30 JST
    _event(msp_sales, action="staff.invite")
    client = client_for(msp_admin)

    def actions(**params):
        page = client.get(reverse("audit_event_list"), params).content.decode()
        return {name for name in ("customer.register", "staff.invite") if name in page}

    assert actions(action="customer.") == {"customer.register"}
    assert actions(actor=msp_sales.email.upper()) == {"staff.invite"}
    assert actions(date_from="2026-11-25") == {"customer.register"}
    assert actions(date_to="2026-11-24") == {"staff.invite"}
    assert actions(customer="ACME-001") == {"customer.register"}


def test_a_malformed_date_shows_a_message_and_no_rows(client_for, msp_admin):
    _event(msp_admin, action="some.event")
    page = client_for(msp_admin).get(reverse("audit_event_list"), {"date_from": "2026-13-45"}).content.decode()
    assert "invalid-feedback" in page
    assert "some.event" not in page


def test_before_and_after_values_are_shown_escaped(client_for, msp_admin):
    _event(msp_admin, before={"name": "<b>old</b>"}, after={"name": "<script>x</script>"})
    page = client_for(msp_admin).get(reverse("audit_event_list")).content.decode()
    assert "<script>x</script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page


def test_the_list_never_counts_the_whole_trail_and_its_queries_do_not_grow(
    client_for, msp_admin, msp_org, django_assert_num_queries
):
    customer = CustomerAccountFactory(organization=msp_org)
    for index in range(60):
        _event(msp_admin, action=f"bulk.event{index}", customer=customer)
    client = client_for(msp_admin)
    client.get(reverse("audit_event_list"))
    for size in (25, 50):
        # Session, user, the verified second factor, membership and organization, the
        # organizations the MSP sees (audit.selectors.audit_page_events), the page's rows.
        with django_assert_num_queries(7) as captured:
            response = client.get(reverse("audit_event_list"), {"per_page": size})
        assert response.status_code == 200
        assert not any("COUNT(" in query["sql"].upper() for query in captured.captured_queries)
        assert response.content.decode().count("bulk.event") == size


def test_the_csv_export_is_the_filtered_trail_with_a_bom_and_no_formulas(client_for, msp_admin, other_msp_admin):
    _event(msp_admin, action="staff.change_role", after={"name": '=HYPERLINK("x")'})
    _event(msp_admin, action="other.action")
    _event(other_msp_admin, action="staff.change_role")
    response = client_for(msp_admin).get(reverse("audit_event_export"), {"action": "staff."})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    lines = body.strip().splitlines()
    assert len(lines) == 2  # the header and the one matching event of the own organization
    assert "日時" in lines[0]
    assert "other.action" not in body
    assert ",=" not in body and "name: " in body


@pytest.mark.parametrize("name", ["audit_event_list", "audit_event_export"])
def test_roles_without_audit_access_are_refused(client_for, msp_sales, msp_viewer, support_user, name):
    for user in (msp_sales, msp_viewer, support_user):
        assert client_for(user).get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", ["audit_event_list", "audit_event_export"])
def test_the_audit_pages_reject_post(client_for, msp_admin, name):
    assert client_for(msp_admin).post(reverse(name)).status_code == 405
    assert not AuditEvent.objects.exists()
