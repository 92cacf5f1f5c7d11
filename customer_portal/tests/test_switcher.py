"""顧客切り替え: the staff list of customers whose admin portal they may open."""

import pytest
from django.urls import reverse

from customers.tests.factories import CustomerAccountFactory

pytestmark = pytest.mark.django_db

URL = reverse("customer_portal:switcher")


def _codes(response):
    return [row.record.account_code for row in response.context["table"].page.object_list]


def test_it_lists_the_active_customers_the_staff_member_manages(client_for, msp_admin, msp_org, other_msp_org):
    CustomerAccountFactory(organization=msp_org, account_code="aaa-active")
    CustomerAccountFactory(organization=msp_org, account_code="bbb-pending", status="pending_approval")
    CustomerAccountFactory(organization=other_msp_org, account_code="ccc-other")
    response = client_for(msp_admin).get(URL)
    assert response.status_code == 200
    assert _codes(response) == ["aaa-active"]
    assert 'href="/c/aaa-active/"' in response.content.decode()


def test_a_privileged_msp_sees_its_child_msps_customers(client_for, pmsp_admin, msp_org):
    CustomerAccountFactory(organization=msp_org, account_code="child-co")
    assert _codes(client_for(pmsp_admin).get(URL)) == ["child-co"]


def test_support_staff_see_only_their_assigned_customers(client_for, support_user, support_org, msp_org):
    CustomerAccountFactory(organization=msp_org, account_code="assigned", support_account=support_org)
    CustomerAccountFactory(organization=msp_org, account_code="not-assigned")
    assert _codes(client_for(support_user).get(URL)) == ["assigned"]


def test_it_searches_the_search_text(client_for, msp_admin, msp_org):
    CustomerAccountFactory(
        organization=msp_org, account_code="abc-co", company_name_kana="カブシキガイシャエービーシー"
    )
    CustomerAccountFactory(organization=msp_org, account_code="xyz-co", company_name_kana="カブシキガイシャエックス")
    assert _codes(client_for(msp_admin).get(URL, {"q": "ｴｰﾋﾞｰｼｰ"})) == ["abc-co"]


@pytest.mark.parametrize("per_page", [25, 50])
def test_it_makes_the_same_number_of_queries_at_any_page_size(
    client_for, msp_admin, msp_org, per_page, django_assert_num_queries
):
    CustomerAccountFactory.create_batch(60, organization=msp_org)
    client = client_for(msp_admin)
    client.get(URL)
    # session, user, membership, organization, the page (LazyPaginator: no COUNT)
    # The verified second factor of the admin (every MSP requires one) is one of them.
    with django_assert_num_queries(6):
        response = client.get(URL, {"per_page": per_page})
    assert len(_codes(response)) == per_page


def test_the_header_shows_the_customer_screen_link_to_staff(client_for, msp_viewer):
    page = client_for(msp_viewer).get(reverse("dashboard")).content.decode()
    assert f'href="{URL}"' in page and "顧客画面" in page


def test_post_is_rejected(client_for, msp_admin):
    assert client_for(msp_admin).post(URL).status_code == 405


def test_anonymous_users_are_sent_to_the_login_page(client, db):
    assert client.get(URL)["Location"].startswith(reverse("login"))
