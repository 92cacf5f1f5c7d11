import pytest
from django.test import RequestFactory

from msp_portal.redirects import safe_next


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
    assert safe_next(RequestFactory().get("/"), candidate) == expected


def test_the_first_usable_candidate_wins():
    assert safe_next(RequestFactory().get("/"), "nowhere", None, "/points/", "/customers/") == "/points/"


def test_a_popup_posted_with_a_bare_word_as_next_goes_back_to_the_default(client_for, msp_admin, msp_org, db):
    from accounts.tests.factories import CustomerAccountFactory

    customer = CustomerAccountFactory(organization=msp_org)
    response = client_for(msp_admin).post(
        f"/customers/{customer.pk}/edit/reseller/", {"reseller_name": "販売店", "next": "customers"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{customer.pk}/"
