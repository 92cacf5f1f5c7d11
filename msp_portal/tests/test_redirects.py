import pytest
from django.test import RequestFactory

from msp_portal.requests import is_url_of_this_site, safe_next_url


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        ("/customers/?page=2", "/customers/?page=2"),
        ("http://testserver/customers/", "http://testserver/customers/"),
        # A bare word: redirect() would look it up as a view name (NoReverseMatch, a 500).
        ("customers", None),
        ("x\x00", None),
        ("//evil.example/", None),
        ("https://evil.example/customers/", None),
        ("javascript:alert(1)", None),
        ("", None),
        (None, None),
    ],
)
def test_only_a_url_of_this_site_is_a_place_to_go_back_to(candidate, expected):
    assert is_url_of_this_site(RequestFactory().get("/"), candidate) is (expected is not None)


def test_a_bare_word_as_next_falls_through_to_the_next_candidate():
    request = RequestFactory().get("/", {"next": "points/"})
    assert safe_next_url(request, "/customers/") == "/customers/"


def test_a_popup_posted_with_a_bare_word_as_next_goes_back_to_the_default(client_for, msp_admin, msp_org, db):
    from customers.tests.factories import CustomerAccountFactory

    customer = CustomerAccountFactory(organization=msp_org)
    response = client_for(msp_admin).post(
        f"/customers/{customer.pk}/edit/reseller/", {"reseller_name": "販売店", "next": "customers"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{customer.pk}/"
