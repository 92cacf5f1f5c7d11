"""msp_portal.requests: page size, the safe `next` URL, the selected ids; and the bulk actions
answering 400 with the message when the ids are bad."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import BadRequest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation
from django_htmx.middleware import HtmxDetails

from audit.models import AuditEvent
from customers.tests.factories import CustomerAccountFactory
from msp_portal.requests import page_size, parse_ids, safe_next_url, selected_ids
from points.models import Transfer

factory = RequestFactory()


def _request(method="get", path="/", data=None, *, secure=False, htmx_from=None):
    headers = {}
    if htmx_from is not None:
        headers = {"HX-Request": "true", "HX-Current-URL": htmx_from}
    request = getattr(factory, method)(path, data or {}, secure=secure, headers=headers)
    request.htmx = HtmxDetails(request)
    return request


# --- page size -------------------------------------------------------------------------------


@pytest.mark.parametrize("asked, size", [("50", 50), ("200", 200), ("25", 25)])
def test_a_listed_page_size_is_used(asked, size):
    assert page_size(_request(data={"per_page": asked})) == size


@pytest.mark.parametrize("asked", ["", "abc", "37", "-25", "1e2", "99999999999999999999"])
def test_any_other_page_size_means_the_first(asked):
    assert page_size(_request(data={"per_page": asked})) == 25


def test_no_page_size_means_the_first():
    assert page_size(_request()) == 25


# --- safe next URL ---------------------------------------------------------------------------


def test_the_forms_next_wins_over_the_query_strings():
    request = _request("post", "/x/?next=/from-query/", {"next": "/from-form/"})
    assert safe_next_url(request, "/default/") == "/from-form/"


def test_the_query_strings_next_is_used_without_a_form_field():
    assert safe_next_url(_request(path="/x/?next=/customers/%3Fq%3Da"), "/default/") == "/customers/?q=a"


@pytest.mark.parametrize(
    "unsafe", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", "http://testserver.evil/"]
)
def test_another_host_or_scheme_falls_back_to_the_default(unsafe):
    assert safe_next_url(_request("post", data={"next": unsafe}), "/default/") == "/default/"


def test_an_https_page_never_sends_back_to_plain_http():
    assert safe_next_url(_request("post", data={"next": "http://testserver/x"}, secure=True), "/d/") == "/d/"
    assert safe_next_url(_request("post", data={"next": "https://testserver/x"}, secure=True), "/d/") == (
        "https://testserver/x"
    )
    assert safe_next_url(_request("post", data={"next": "http://testserver/x"}), "/d/") == "http://testserver/x"


def test_an_htmx_popup_goes_back_to_the_page_it_was_opened_from():
    request = _request("post", htmx_from="http://testserver/customers/?page=2")
    assert safe_next_url(request, "/default/") == "http://testserver/customers/?page=2"
    request = _request("post", data={"next": "/chosen/"}, htmx_from="http://testserver/customers/")
    assert safe_next_url(request, "/default/") == "/chosen/"
    assert safe_next_url(_request("post", htmx_from="https://evil.example/"), "/default/") == "/default/"


def test_a_plain_request_ignores_the_htmx_header():
    request = factory.post("/", headers={"HX-Current-URL": "http://testserver/customers/"})
    request.htmx = HtmxDetails(request)
    assert safe_next_url(request, "/default/") == "/default/"


# --- selected ids ----------------------------------------------------------------------------


def test_ids_are_read_once_each_in_their_order():
    assert parse_ids(["30", "4", "30", "9223372036854775807"]) == [30, 4, 9223372036854775807]
    assert parse_ids([]) == []


@pytest.mark.parametrize(
    "bad",
    ["-5", "0", "abc", "", " 5", "5 ", "5.0", "+5", "1e3", "１２", "²", "1; DROP", "9223372036854775808", "1" * 5000],
)
def test_a_bad_id_is_a_bad_request_with_a_translated_message(bad):
    with translation.override("ja"), pytest.raises(BadRequest) as refused:
        parse_ids(["7", bad])
    assert str(refused.value) == "選択が正しくありません。"


def test_more_ids_than_the_limit_are_refused_not_cut():
    assert parse_ids(["1", "2", "2"], limit=2) == [1, 2]
    with translation.override("ja"), pytest.raises(BadRequest) as refused:
        parse_ids(["1", "2", "3"], limit=2)
    assert str(refused.value) == "一度に選択できるのは2件までです。"


def test_a_post_is_read_from_its_form_and_a_get_from_its_query_string():
    assert selected_ids(_request("post", "/?ids=9", {"ids": ["1", "2"]})) == [1, 2]
    assert selected_ids(_request(path="/?ids=3&ids=4")) == [3, 4]
    with pytest.raises(BadRequest):
        selected_ids(_request("post", data={"ids": ["1", "-5"]}))


# --- the bulk actions: a bad id is a 400 with the message, and nothing happens -----------------

BULK_ACTIONS = ["exports:customers_selected_csv", "customer_portal:delivery_notice", "points:replenish"]


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", BULK_ACTIONS)
@pytest.mark.parametrize("bad", ["-5", "abc", "0"])
def test_a_bulk_action_with_a_bad_id_answers_400_with_the_message(client_for, msp_admin, url_name, bad):
    customer = CustomerAccountFactory(organization=msp_admin.organization)
    response = client_for(msp_admin).post(
        reverse(url_name), {"ids": [customer.pk, bad], "send": "1", "language": "ja", "next": "/customers/"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "選択が正しくありません。" in body and "<html" in body
    assert not AuditEvent.objects.exists() and not mail.outbox and not Transfer.objects.exists()


@pytest.mark.django_db
def test_an_htmx_bulk_action_gets_the_message_as_a_popup(client_for, msp_admin):
    response = client_for(msp_admin).post(reverse("points:replenish"), {"ids": ["-5"]}, headers={"HX-Request": "true"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "選択が正しくありません。" in body and 'class="modal-header"' in body and "<html" not in body


@pytest.mark.django_db
def test_the_delivery_notice_refuses_more_accounts_than_it_sends_at_once(client_for, msp_admin):
    ids = [str(pk) for pk in range(1, 502)]
    response = client_for(msp_admin).post(reverse("customer_portal:delivery_notice"), {"ids": ids})
    assert response.status_code == 400
    assert "一度に選択できるのは500件までです。" in response.content.decode()


@pytest.mark.django_db
def test_djangos_own_bad_requests_get_the_page_without_their_details(client):
    response = client.get("/accounts/login/", headers={"host": "evil.example"})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'data-testid="error-400"' in body and "evil.example" not in body
