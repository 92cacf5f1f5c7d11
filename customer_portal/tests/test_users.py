"""ユーザ: list, add, edit, disable service users within the contracted users; CSV export."""

import csv
import io

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from customer_portal.models import ServiceUser
from customer_portal.selectors import active_user_count
from customer_portal.tests.factories import ServiceUserFactory
from customers.tests.factories import CustomerAccountFactory

pytestmark = pytest.mark.django_db

NEW_USER = {
    "user_name": "Taro.Yamada",
    "email": "taro@customer.example",
    "display_name": "山田 太郎",
    "department": "営業部",
}


def _url(name, customer, *args):
    return reverse(f"customer_portal:{name}", args=[customer.account_code, *args])


def test_the_user_list_shows_this_customers_users_with_the_count(client_for, customer_admin, portal_customer, msp_org):
    ServiceUserFactory(customer=portal_customer, user_name="alice")
    ServiceUserFactory(customer=portal_customer, user_name="bob", is_active=False)
    ServiceUserFactory(customer=CustomerAccountFactory(organization=msp_org), user_name="stranger")
    page = client_for(customer_admin).get(_url("users", portal_customer)).content.decode()
    assert 'data-user="alice"' in page
    assert 'data-user="bob"' in page
    assert "stranger" not in page
    assert "有効ユーザ数: 1 / 契約ユーザ数: 5" in page


def test_the_user_list_searches_and_filters(client_for, customer_admin, portal_customer):
    ServiceUserFactory(customer=portal_customer, user_name="alice", display_name="青木")
    ServiceUserFactory(customer=portal_customer, user_name="bob", is_active=False)
    client = client_for(customer_admin)
    page = client.get(_url("users", portal_customer), {"q": "青木"}).content.decode()
    assert 'data-user="alice"' in page and 'data-user="bob"' not in page
    page = client.get(_url("users", portal_customer), {"status": "inactive"}).content.decode()
    assert 'data-user="alice"' not in page and 'data-user="bob"' in page


@pytest.mark.parametrize("per_page", [25, 100])
def test_the_user_list_makes_the_same_number_of_queries_at_any_page_size(
    client_for, customer_admin, portal_customer, per_page, django_assert_num_queries
):
    portal_customer.contracted_users = 300
    portal_customer.save()
    ServiceUser.objects.bulk_create(
        ServiceUser(customer=portal_customer, user_name=f"u{i:04d}", email=f"u{i}@x.example", display_name=f"利用者{i}")
        for i in range(150)
    )
    client = client_for(customer_admin)
    client.get(_url("users", portal_customer))  # warm the session
    # session, user, (no) membership, customer admin, customer, the page of users, active count
    with django_assert_num_queries(7):
        response = client.get(_url("users", portal_customer), {"per_page": per_page})
    assert response.content.decode().count("data-user=") == per_page


def test_a_user_is_added_and_audited(client_for, customer_admin, portal_customer):
    response = client_for(customer_admin).post(_url("user_add", portal_customer), NEW_USER)
    assert response.status_code == 302
    user = ServiceUser.objects.get()
    assert (user.user_name, user.email, user.display_name, user.department) == (
        "taro.yamada",
        "taro@customer.example",
        "山田 太郎",
        "営業部",
    )
    event = AuditEvent.objects.get(action="service_user.add")
    assert event.actor == customer_admin
    assert event.customer == portal_customer
    assert event.acting_as_customer is None


def test_no_more_active_users_than_contracted_are_allowed(client_for, customer_admin, portal_customer):
    ServiceUser.objects.bulk_create(
        ServiceUser(customer=portal_customer, user_name=f"u{i}", email="u@x.example", display_name="u")
        for i in range(5)
    )
    response = client_for(customer_admin).post(_url("user_add", portal_customer), NEW_USER)
    assert response.status_code == 200
    assert "契約ユーザ数5人を超えます" in response.content.decode()
    assert ServiceUser.objects.count() == 5


def test_admins_do_not_count_against_the_contracted_users(customer_admin, portal_customer):
    assert active_user_count(portal_customer) == 0


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({**NEW_USER, "email": "taro@@customer"}, "email", "有効なメールアドレスを入力してください"),
        ({**NEW_USER, "user_name": "太郎"}, "user_name", "英字、数字"),
        ({**NEW_USER, "user_name": "a" * 101}, "user_name", "100"),
        ({**NEW_USER, "display_name": "名" * 101}, "display_name", "100"),
        ({**NEW_USER, "display_name": "<b>太郎</b>"}, "display_name", "< や >"),
        ({**NEW_USER, "display_name": '=HYPERLINK("x")'}, "display_name", "数式"),
        ({**NEW_USER, "department": "@SUM(A1)"}, "department", "数式"),
        ({**NEW_USER, "user_name": "-rm"}, "user_name", "数式"),
        ({**NEW_USER, "display_name": "   "}, "display_name", "必須"),
    ],
)
def test_bad_user_input_is_refused_with_a_clear_message(
    client_for, customer_admin, portal_customer, data, field, message
):
    response = client_for(customer_admin).post(_url("user_add", portal_customer), data)
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors[field])
    assert message in errors
    assert not ServiceUser.objects.exists()


def test_a_duplicate_user_name_is_refused_whatever_its_case(client_for, customer_admin, portal_customer):
    ServiceUserFactory(customer=portal_customer, user_name="taro.yamada", is_active=False)
    response = client_for(customer_admin).post(_url("user_add", portal_customer), NEW_USER)
    assert response.status_code == 200
    assert "ユーザ名「taro.yamada」は既に登録されています" in response.content.decode()
    assert ServiceUser.objects.count() == 1


def test_the_same_user_name_may_exist_in_another_customer(client_for, customer_admin, portal_customer, msp_org):
    ServiceUserFactory(customer=CustomerAccountFactory(organization=msp_org), user_name="taro.yamada")
    assert client_for(customer_admin).post(_url("user_add", portal_customer), NEW_USER).status_code == 302


def test_a_user_is_edited_but_keeps_its_user_name(client_for, customer_admin, portal_customer):
    user = ServiceUserFactory(customer=portal_customer, user_name="alice")
    client = client_for(customer_admin)
    assert client.get(_url("user_edit", portal_customer, user.pk)).status_code == 200
    response = client.post(
        _url("user_edit", portal_customer, user.pk),
        {"user_name": "mallory", "email": "alice@new.example", "display_name": "青木 アリス", "department": ""},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.user_name, user.email, user.display_name) == ("alice", "alice@new.example", "青木 アリス")
    event = AuditEvent.objects.get(action="service_user.update")
    assert event.after == {"email": "alice@new.example", "display_name": "青木 アリス"}


def test_html_in_names_is_never_rendered_as_markup(client_for, customer_admin, portal_customer):
    ServiceUserFactory(customer=portal_customer, user_name="eve", display_name="<script>alert(1)</script>")
    page = client_for(customer_admin).get(_url("users", portal_customer)).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_a_user_is_disabled_and_enabled_within_the_contracted_users(client_for, customer_admin, portal_customer):
    user = ServiceUserFactory(customer=portal_customer)
    client = client_for(customer_admin)
    assert client.get(_url("user_disable", portal_customer, user.pk)).status_code == 200
    assert client.post(_url("user_disable", portal_customer, user.pk)).status_code == 302
    user.refresh_from_db()
    assert not user.is_active
    ServiceUser.objects.bulk_create(
        ServiceUser(customer=portal_customer, user_name=f"u{i}", email="u@x.example", display_name="u")
        for i in range(5)
    )
    response = client.post(_url("user_enable", portal_customer, user.pk))
    assert response.status_code == 200
    assert "契約ユーザ数" in response.content.decode()
    user.refresh_from_db()
    assert not user.is_active
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["service_user.disable"]


def test_another_customers_user_is_404(client_for, customer_admin, portal_customer, msp_org):
    stranger = ServiceUserFactory(customer=CustomerAccountFactory(organization=msp_org))
    client = client_for(customer_admin)
    assert client.get(_url("user_edit", portal_customer, stranger.pk)).status_code == 404
    assert client.post(_url("user_disable", portal_customer, stranger.pk)).status_code == 404
    stranger.refresh_from_db()
    assert stranger.is_active


def test_wrong_methods_are_rejected(client_for, customer_admin, portal_customer):
    client = client_for(customer_admin)
    assert client.post(_url("users", portal_customer)).status_code == 405
    assert client.post(_url("user_export", portal_customer)).status_code == 405
    assert client.put(_url("user_add", portal_customer)).status_code == 405


def test_the_export_is_utf8_with_bom_and_neutralises_formulas(client_for, msp_viewer, portal_customer):
    ServiceUser.objects.create(
        customer=portal_customer,
        user_name="alice",
        email="a@x.example",
        display_name="=cmd|' /C calc'!A0",
        department="営業",
    )
    ServiceUserFactory(customer=portal_customer, user_name="bob", is_active=False, display_name="<b>ボブ</b>")
    response = client_for(msp_viewer).get(_url("user_export", portal_customer))
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["ユーザ名", "メールアドレス", "表示名", "部署", "状態"]
    assert rows[1] == ["alice", "a@x.example", "'=cmd|' /C calc'!A0", "営業", "有効"]
    assert rows[2][2:] == ["<b>ボブ</b>", "", "無効"]
