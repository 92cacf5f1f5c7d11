"""ポイント購入申請: an MSP asks for points, the operator records the purchase from the request
or declines it; both sides are e-mailed, every write audited."""

import re

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from customers.tests.factories import CustomerAccountFactory
from msp_portal.errors import DomainError
from points import purchase_requests
from points.models import LedgerAccount, PurchaseRequest, PurchaseRequestStatus, Transfer, TransferKind
from points.selectors import pool_balance

from .helpers import fund

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def token_of(response) -> str:
    return re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1)


def _send(client, organization, **data):
    token = token_of(client.get(reverse("points:purchase_request_new")))
    payload = {"organization": organization.pk, "amount": "5,000", "order_reference": "PO-77", "note": "至急"}
    return client.post(reverse("points:purchase_request_new"), {**payload, **data, "token": token}, **HTMX)


def _open_request(organization, requester=None, amount=5000):
    return purchase_requests.purchase_request_create(
        actor=requester,
        organization=organization,
        amount=amount,
        order_reference="PO-77",
        note="",
        idempotency_key=f"test:{organization.pk}:{amount}",
    )


def test_an_msp_admin_sends_a_request_and_the_operator_is_emailed(
    client_for, msp_admin, msp_org, operator_user, mailoutbox, django_capture_on_commit_callbacks
):
    client = client_for(msp_admin)
    form = client.get(reverse("points:purchase_request_new"), {"amount": "1200"}).content.decode()
    assert 'value="1200"' in form and "ポイント購入申請" in form
    token = token_of(client.get(reverse("points:purchase_request_new")))
    data = {"organization": msp_org.pk, "amount": "5,000", "order_reference": "PO-77", "note": "至急", "token": token}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("points:purchase_request_new"), data, **HTMX)
        client.post(reverse("points:purchase_request_new"), data, **HTMX)  # a double click files one request
    assert response.status_code == 200 and response.headers["HX-Redirect"]
    request = PurchaseRequest.objects.get()
    assert (request.organization, request.amount, request.order_reference, request.note) == (
        msp_org,
        5000,
        "PO-77",
        "至急",
    )
    assert (request.status, request.requested_by) == (PurchaseRequestStatus.OPEN, msp_admin)
    assert pool_balance(msp_org) == 0  # nothing moves before the operator records it
    event = AuditEvent.objects.get(action="points.purchase_request")
    assert (event.actor, event.organization, event.after["amount"]) == (msp_admin, msp_org, 5000)
    assert [message.to for message in mailoutbox] == [[operator_user.email]]
    assert "ポイント購入申請" in mailoutbox[0].subject and msp_org.name in mailoutbox[0].subject
    assert "5,000" in mailoutbox[0].body and "PO-77" in mailoutbox[0].body


@pytest.mark.parametrize("persona", ["msp_sales", "msp_viewer", "operator_viewer", "support_user"])
def test_only_admin_and_billing_staff_send_requests(request, client_for, msp_org, persona):
    client = client_for(request.getfixturevalue(persona))
    data = {"organization": msp_org.pk, "amount": "10", "order_reference": "X", "token": "x"}
    assert client.post(reverse("points:purchase_request_new"), data).status_code == 403
    assert not PurchaseRequest.objects.exists()


def test_an_msp_cannot_request_for_another_msp(client_for, msp_billing, other_msp_org):
    response = _send(client_for(msp_billing), other_msp_org)
    assert response.status_code == 200 and "HX-Redirect" not in response.headers
    assert not PurchaseRequest.objects.exists()


def test_the_operator_records_the_purchase_once_and_the_requester_is_emailed(
    client_for, operator_user, msp_admin, msp_org, mailoutbox, django_capture_on_commit_callbacks
):
    request = _open_request(msp_org, msp_admin)
    client = client_for(operator_user)
    url = reverse("points:purchase_request_record", args=[request.pk])
    popup = client.get(url, **HTMX).content.decode()
    assert "購入を記録" in popup and 'data-testid="request-amount">5,000<' in popup
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, **HTMX)
        client.post(url, **HTMX)  # recorded already: nothing more moves
    assert response.headers["HX-Redirect"] == reverse("points:purchase_requests")
    transfer = Transfer.objects.get(kind=TransferKind.PURCHASE)
    assert (transfer.amount, transfer.order_reference, transfer.actor) == (5000, "PO-77", operator_user)
    assert pool_balance(msp_org) == 5000
    request.refresh_from_db()
    assert (request.status, request.transfer, request.closed_by) == (
        PurchaseRequestStatus.RECORDED,
        transfer,
        operator_user,
    )
    assert AuditEvent.objects.filter(action="points.purchase_request_recorded").count() == 1
    assert AuditEvent.objects.filter(action="points.purchase").count() == 1
    assert [message.to for message in mailoutbox] == [[msp_admin.email]]
    assert "記録されました" in mailoutbox[0].subject


def test_the_operator_declines_with_a_reason_and_a_declined_request_cannot_be_recorded(
    client_for, operator_user, msp_admin, msp_org, mailoutbox, django_capture_on_commit_callbacks
):
    request = _open_request(msp_org, msp_admin)
    client = client_for(operator_user)
    url = reverse("points:purchase_request_decline", args=[request.pk])
    response = client.post(url, {"reason": ""}, **HTMX)
    assert "HX-Redirect" not in response.headers
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"reason": "注文書が未着です"}, **HTMX)
    assert response.headers["HX-Redirect"]
    request.refresh_from_db()
    assert (request.status, request.decline_reason) == (PurchaseRequestStatus.DECLINED, "注文書が未着です")
    assert AuditEvent.objects.get(action="points.purchase_request_declined").after["reason"] == "注文書が未着です"
    assert [message.to for message in mailoutbox] == [[msp_admin.email]]
    assert "注文書が未着です" in mailoutbox[0].body
    with pytest.raises(DomainError):
        purchase_requests.purchase_request_record(actor=operator_user, request=request)
    client.post(reverse("points:purchase_request_record", args=[request.pk]), **HTMX)
    assert not Transfer.objects.filter(kind=TransferKind.PURCHASE).exists()


@pytest.mark.parametrize("persona", ["msp_admin", "msp_billing", "operator_viewer"])
def test_only_operator_admins_record_or_decline(request, client_for, msp_org, persona):
    purchase_request = _open_request(msp_org)
    client = client_for(request.getfixturevalue(persona))
    for name in ("points:purchase_request_record", "points:purchase_request_decline"):
        assert client.post(reverse(name, args=[purchase_request.pk]), {"reason": "x"}).status_code == 403
    purchase_request.refresh_from_db()
    assert purchase_request.is_open and not Transfer.objects.exists()


def test_the_queue_shows_the_operator_every_open_request_and_an_msp_its_own(
    client_for, operator_user, msp_admin, msp_org, other_msp_org
):
    mine, theirs = _open_request(msp_org, amount=1500), _open_request(other_msp_org, amount=2500)
    operator = client_for(operator_user).get(reverse("points:purchase_requests")).content.decode()
    assert f'data-purchase-request="{mine.pk}"' in operator and f'data-purchase-request="{theirs.pk}"' in operator
    assert operator.count('data-testid="purchase-request-record"') == 2
    assert "未処理 2件" in re.sub(r"<[^>]+>", "", operator)
    msp = client_for(msp_admin).get(reverse("points:purchase_requests")).content.decode()
    assert f'data-purchase-request="{mine.pk}"' in msp and f'data-purchase-request="{theirs.pk}"' not in msp
    assert 'data-testid="purchase-request-record"' not in msp and "1,500" in msp
    assert client_for(msp_admin).post(reverse("points:purchase_request_record", args=[theirs.pk])).status_code == 404


def test_a_short_replenish_offers_a_request_for_what_the_pool_lacks(client_for, msp_admin, msp_org):
    fund(msp_org, 100)
    customer = CustomerAccountFactory(organization=msp_org)
    LedgerAccount.objects.filter(customer=customer).update(estimated_balance=-350)
    body = client_for(msp_admin).get(reverse("points:replenish"), {"ids": customer.pk}, **HTMX).content.decode()
    assert 'data-testid="pool-short"' in body
    link = re.search(r'data-testid="purchase-request-link"', body)
    assert link and f"organization={msp_org.pk}&amp;amount=250" in body


def test_a_change_refused_for_a_short_pool_offers_a_request(client_for, msp_admin, msp_org):
    fund(msp_org, 10)
    customer = CustomerAccountFactory(organization=msp_org)
    client = client_for(msp_admin)
    url = reverse("points:change", args=[customer.pk])
    token = token_of(client.get(url))
    body = client.post(url, {"operation": "add", "amount": "40", "token": token}, **HTMX).content.decode()
    assert f"organization={msp_org.pk}&amp;amount=30" in body


def test_the_outcome_email_speaks_the_requesters_language(msp_admin, msp_org, operator_user, mailoutbox):
    msp_admin.language = "en"
    msp_admin.save(update_fields=["language"])
    request = _open_request(msp_org, msp_admin)
    purchase_requests.purchase_request_decline(actor=operator_user, request=request, reason="No order")
    purchase_requests.send_purchase_request_email(request.pk, "declined")
    assert mailoutbox[-1].subject == "[MSP Portal] Your points purchase request was declined"
    assert "No order" in mailoutbox[-1].body and "5,000" in mailoutbox[-1].body


def test_the_dashboard_shows_the_open_requests_to_the_operator_and_to_their_msp(
    client_for, operator_user, msp_admin, other_msp_admin, msp_org, other_msp_org
):
    _open_request(msp_org, amount=1500)
    _open_request(other_msp_org, amount=2500)
    recorded = _open_request(msp_org, amount=9000)
    purchase_requests.purchase_request_record(actor=operator_user, request=recorded)

    def panel(user) -> str:
        body = client_for(user).get(reverse("dashboard")).content.decode()
        found = re.search(r'data-testid="panel-purchase-requests".*?</section>', body, re.S)
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found.group(0))) if found else ""

    operator = panel(operator_user)
    # Every MSP's open requests, oldest first, by MSP; the recorded one is not waiting any more.
    assert "2件・4,000ポイント" in operator
    assert operator.index(msp_org.name) < operator.index(other_msp_org.name)
    mine = panel(msp_admin)
    assert "1件・1,500ポイント" in mine and "PO-77" in mine and other_msp_org.name not in mine
    purchase_requests.purchase_request_decline(
        actor=operator_user, request=PurchaseRequest.objects.get(organization=other_msp_org), reason="重複"
    )
    assert panel(other_msp_admin) == ""
