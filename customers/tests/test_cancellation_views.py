"""The two cancellation popups (解約, 解約予定日設定): what they show, what they post, who may."""

import datetime as dt

import pytest
import time_machine

from billing_jobs.tests.factories import active_customer, at
from customers.models import CustomerAccount, CustomerStatus
from points.models import Transfer, TransferKind

pytestmark = pytest.mark.django_db

D = dt.date
NOW = at(D(2026, 11, 10), 14)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def customer(msp_org):
    return active_customer(msp_org, activated=at(D(2026, 10, 26)), users=20, points=50)


def cancel_url(customer):
    return f"/customers/{customer.pk}/cancel/"


def date_url(customer):
    return f"/customers/{customer.pk}/cancellation-date/"


SENTENCE = (
    "解約処理が完了する際に、現在のポイントの不足分のポイントは補充され、"
    "残存分のポイントは消費されます。解約を続行しますか？"
)


def test_the_cancel_popup_asks_the_seed_question_and_shows_the_settlement(client_for, msp_admin, customer):
    response = client_for(msp_admin).get(cancel_url(customer), headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert SENTENCE in html and "同意する" in html
    assert 'data-testid="settlement-preview"' in html
    assert "<html" not in html  # a fragment for htmx


def test_the_cancel_popup_is_a_plain_page_without_htmx(client_for, msp_billing, customer):
    response = client_for(msp_billing).get(cancel_url(customer))
    assert response.status_code == 200
    assert "<html" in response.content.decode()


def test_cancelling_through_the_popup_cancels_and_closes_it(client_for, msp_admin, customer):
    response = client_for(msp_admin).post(
        cancel_url(customer), {"agreed": "on", "next": "/dashboard/"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/dashboard/"
    customer = CustomerAccount.objects.with_points().get(pk=customer.pk)
    assert (customer.status, customer.points_balance) == (CustomerStatus.CANCELLED, 0)


def test_cancelling_without_agreement_re_renders_the_popup_and_changes_nothing(client_for, msp_admin, customer):
    response = client_for(msp_admin).post(cancel_url(customer), {}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "同意する」にチェック" in response.content.decode()
    customer.refresh_from_db()
    assert customer.status == CustomerStatus.ACTIVE
    assert not Transfer.objects.filter(kind=TransferKind.SETTLEMENT_FORFEIT).exists()


def test_cancelling_twice_says_so(client_for, msp_admin, customer):
    client = client_for(msp_admin)
    client.post(cancel_url(customer), {"agreed": "on"})
    response = client.post(cancel_url(customer), {"agreed": "on"})
    assert response.status_code == 200
    assert "現在のステータス" in response.content.decode()
    assert Transfer.objects.filter(kind=TransferKind.SETTLEMENT_FORFEIT).count() == 1


def test_an_unsafe_next_url_is_ignored(client_for, msp_admin, customer):
    response = client_for(msp_admin).post(cancel_url(customer), {"agreed": "on", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert response.url == f"/customers/{customer.pk}/"


@pytest.mark.parametrize("method", ["put", "delete"])
def test_the_popups_reject_other_methods(client_for, msp_admin, customer, method):
    client = client_for(msp_admin)
    assert getattr(client, method)(cancel_url(customer)).status_code == 405
    assert getattr(client, method)(date_url(customer)).status_code == 405


def test_another_msps_customer_is_not_found(client_for, other_msp_admin, customer):
    client = client_for(other_msp_admin)
    assert client.get(cancel_url(customer)).status_code == 404
    assert client.post(cancel_url(customer), {"agreed": "on"}).status_code == 404
    assert client.post(date_url(customer), {"cancellation_date": "2026-12-01", "agreed": "on"}).status_code == 404
    customer.refresh_from_db()
    assert (customer.status, customer.cancellation_date) == (CustomerStatus.ACTIVE, None)


@pytest.mark.parametrize("persona", ["msp_viewer", "msp_sales", "support_user"])
def test_roles_without_the_cancel_capability_are_refused(request, client_for, customer, persona):
    user = request.getfixturevalue(persona)
    CustomerAccount.objects.with_points().filter(pk=customer.pk).update(
        support_account=getattr(user.organization, "pk", None)
    )
    client = client_for(user)
    assert client.get(cancel_url(customer)).status_code == 403
    assert client.post(cancel_url(customer), {"agreed": "on"}).status_code == 403
    assert client.post(date_url(customer), {"cancellation_date": "2026-12-01", "agreed": "on"}).status_code == 403
    customer.refresh_from_db()
    assert (customer.status, customer.cancellation_date) == (CustomerStatus.ACTIVE, None)


def test_the_privileged_msp_cancels_its_child_msps_customer(client_for, pmsp_admin, customer):
    assert client_for(pmsp_admin).post(cancel_url(customer), {"agreed": "on"}).status_code == 302
    assert CustomerAccount.objects.with_points().get(pk=customer.pk).status == CustomerStatus.CANCELLED


def test_scheduling_changing_and_clearing_through_the_popup(client_for, msp_admin, customer):
    client = client_for(msp_admin)
    page = client.get(date_url(customer)).content.decode()
    assert SENTENCE in page and "解約予定日" in page
    assert client.post(date_url(customer), {"cancellation_date": "2026-12-01", "agreed": "on"}).status_code == 302
    assert CustomerAccount.objects.with_points().get(pk=customer.pk).cancellation_date == D(2026, 12, 1)
    assert "2026-12-01" in client.get(date_url(customer)).content.decode()
    client.post(date_url(customer), {"cancellation_date": "2026-11-30", "agreed": "on"})
    assert CustomerAccount.objects.with_points().get(pk=customer.pk).cancellation_date == D(2026, 11, 30)
    assert client.post(date_url(customer), {"action": "clear"}).status_code == 302
    assert CustomerAccount.objects.with_points().get(pk=customer.pk).cancellation_date is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"cancellation_date": "2026-11-10", "agreed": "on"}, "未来の日付"),
        ({"cancellation_date": "2026-11-01", "agreed": "on"}, "未来の日付"),
        ({"cancellation_date": "2026-13-45", "agreed": "on"}, "2026-12-31"),
        ({"cancellation_date": "<script>", "agreed": "on"}, "2026-12-31"),
        ({"cancellation_date": "", "agreed": "on"}, "解約予定日を入力"),
        ({"cancellation_date": "2026-12-01"}, "同意する」にチェック"),
    ],
)
def test_bad_cancellation_dates_are_refused_with_a_message(client_for, msp_admin, customer, data, message):
    response = client_for(msp_admin).post(date_url(customer), data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "<script>" not in response.content.decode().split("<form", 1)[1].split("</form>")[0].replace(
        'value="&lt;script&gt;"', ""
    )
    assert CustomerAccount.objects.with_points().get(pk=customer.pk).cancellation_date is None
