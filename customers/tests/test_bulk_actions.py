import pytest
from django.urls import reverse

from customers.bulk_actions import bulk_actions_for
from customers.tests.factories import CustomerAccountFactory

pytestmark = pytest.mark.django_db


def test_delivery_notification_is_offered_to_roles_that_may_send_it(msp_admin, msp_sales, msp_billing, msp_viewer):
    def names(user):
        return [action["name"] for action in bulk_actions_for(user)]

    assert "delivery_notice" in names(msp_admin)
    assert "delivery_notice" in names(msp_sales)
    assert "delivery_notice" not in names(msp_billing)
    assert "delivery_notice" not in names(msp_viewer)


def test_the_list_menu_posts_the_selection_to_the_delivery_notice_popup(client_for, msp_admin):
    CustomerAccountFactory(organization=msp_admin.organization)
    page = client_for(msp_admin).get(reverse("customers:list")).content.decode()
    assert f'formaction="{reverse("customer_portal:delivery_notice")}"' in page
    assert "納品通知" in page


def test_viewers_see_no_delivery_notification_and_cannot_post_one(client_for, msp_viewer):
    customer = CustomerAccountFactory(organization=msp_viewer.organization)
    client = client_for(msp_viewer)
    assert "納品通知" not in client.get(reverse("customers:list")).content.decode()
    assert (
        client.post(reverse("customer_portal:delivery_notice"), {"ids": [customer.pk], "send": "1"}).status_code == 403
    )


def test_the_apps_register_their_actions_in_the_menu_order(msp_admin):
    # Registered by points, customer_portal and exports (their AppConfig.ready), in that order.
    assert [action["name"] for action in bulk_actions_for(msp_admin)] == [
        "replenish",
        "delivery_notice",
        "export_selected_csv",
        "export_selected_xlsx",
    ]


def test_the_detail_page_shows_the_registered_points_section_before_the_audit_trail():
    from customers.views import DETAIL_SECTIONS

    assert [section.key for section in DETAIL_SECTIONS] == [
        "overview",
        "timeline",
        "contract",
        "points",
        "merges",
        "audit",
    ]
