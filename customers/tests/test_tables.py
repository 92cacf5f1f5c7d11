import pytest
from django.template.defaultfilters import urlencode
from django.test import RequestFactory
from django.urls import reverse

from customers.tables import ListPage

pytestmark = pytest.mark.django_db

ROW_URL_NAMES = [
    "customers:detail",
    "customers:contract",
    "customers:edit",
    "customers:archive",
    "customers:unarchive",
    "points:change",
    "customers:cancellation_date",
    "customers:cancel",
]


@pytest.mark.parametrize("name", ROW_URL_NAMES)
def test_a_row_url_is_what_reverse_builds(msp_admin, name):
    request = RequestFactory().get("/customers/", {"sort": "-estimated_balance"})
    request.user = msp_admin
    page = ListPage(request)
    for pk in (1, 7, 90817, 9081726354, 123456789012):
        assert page.url(name, pk) == reverse(name, args=[pk])


def test_the_points_popup_returns_to_the_page_with_its_search_and_sort(msp_admin):
    request = RequestFactory().get("/customers/", {"q": "鈴木 &co", "sort": "-estimated_balance"})
    request.user = msp_admin
    # As the template filter `request.get_full_path|urlencode` quoted it.
    assert ListPage(request).next == urlencode(request.get_full_path())
    assert "&" not in ListPage(request).next and "sort%3D-estimated_balance" in ListPage(request).next
