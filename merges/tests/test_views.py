"""The merge and transfer pages: they work, refuse the wrong method, check access (another MSP's
objects 404, read-only staff 403, nothing changed) and answer bad input with a message."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from accounts.tests.factories import UserFactory
from audit.models import AuditEvent
from billing_jobs.tests.factories import at
from merges.models import AccountRequest, DismissedSuggestion, MergeSearch, RequestStatus
from merges.selectors import msp_code
from points.forms import mint_form_key
from points.tests.helpers import take

from .factories import active, merge_request

pytestmark = pytest.mark.django_db

NOW = at(dt.date(2026, 11, 10), 12)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def colleague(msp_org):
    return UserFactory(email="msp-admin-2@test.example", membership__organization=msp_org, membership__role="admin")


@pytest.fixture
def pair(msp_org):
    return active(msp_org, email_domain="same.example.jp", points=40), active(
        msp_org, email_domain="same.example.jp", points=60
    )


def test_the_lists_show_received_and_sent_requests_and_the_msp_code(client_for, msp_admin, colleague, pair, msp_org):
    request = merge_request(colleague, *pair)
    response = client_for(msp_admin).get(reverse("merges:received"))
    assert response.status_code == 200
    assert f'data-request="{request.pk}"' in response.text
    assert msp_code(msp_org) in response.text
    sent = client_for(colleague).get(reverse("merges:sent"))
    assert f'data-request="{request.pk}"' in sent.text
    assert client_for(msp_admin).get(reverse("merges:sent")).text.count('data-testid="request-row"') == 1


def test_the_lists_refuse_post_and_read_only_staff(client_for, msp_admin, msp_viewer):
    assert client_for(msp_admin).post(reverse("merges:received")).status_code == 405
    assert client_for(msp_viewer).get(reverse("merges:received")).status_code == 403


def test_the_merge_form_previews_and_sends_the_request(client_for, msp_admin, pair):
    mine, other = pair
    client = client_for(msp_admin)
    url = reverse("merges:merge_request", args=[mine.pk])
    choose = client.get(url)
    assert f"choose-{other.account_code}" in choose.text
    page = client.get(url, {"with": other.pk})
    assert page.status_code == 200
    assert "アカウントの統合はやり直しできません" in page.text
    assert 'data-testid="preview-points"' in page.text and "100" in page.text
    token = mint_form_key(msp_admin, "merge_request")
    response = client.post(url, {"other": other.pk, "survivor": "other", "note": "同じ会社", "token": token})
    assert response.status_code == 302
    request = AccountRequest.objects.get()
    assert (request.customer, request.survivor, request.note) == (mine, other, "同じ会社")
    # The same form posted again files nothing more.
    client.post(url, {"other": other.pk, "survivor": "other", "note": "同じ会社", "token": token})
    assert AccountRequest.objects.count() == 1


def test_the_merge_form_refuses_junk_and_forged_tokens(client_for, msp_admin, pair):
    mine, other = pair
    client = client_for(msp_admin)
    url = reverse("merges:merge_request", args=[mine.pk])
    bad = client.post(
        url, {"other": other.pk, "survivor": "<script>", "token": mint_form_key(msp_admin, "merge_request")}
    )
    assert bad.status_code == 200 and "存続するアカウントを選んでください" in bad.text
    forged = client.post(url, {"other": other.pk, "survivor": "this", "token": "forged"})
    assert "有効期限が切れました" in forged.text
    assert client.get(url, {"with": "not-a-number"}).status_code == 404
    assert not AccountRequest.objects.exists()


def test_another_msps_account_is_not_found_without_a_search(client_for, msp_admin, msp_org, other_msp_org):
    mine = active(msp_org)
    theirs = active(other_msp_org, points=777, contact_email="secret@theirs.example", phone="011-999-0000")
    client = client_for(msp_admin)
    url = reverse("merges:merge_request", args=[mine.pk])
    assert client.get(url, {"with": theirs.pk}).status_code == 404
    response = client.post(reverse("merges:search"), {"query": theirs.email_domain, "customer": mine.pk})
    assert theirs.account_code in response.text and theirs.company_name in response.text
    # Only code, company name and MSP: neither in the results nor in the request's preview.
    page = client.get(url, {"with": theirs.pk})
    assert page.status_code == 200 and 'data-testid="merge-preview-masked"' in page.text
    for secret in ("secret@theirs.example", "011-999-0000", "777"):
        assert secret not in response.text and secret not in page.text


def test_the_search_page_counts_down_and_refuses_the_sixth_search(client_for, msp_admin, msp_org, settings):
    settings.PORTAL_MERGE_SEARCHES_PER_DAY = 5
    client = client_for(msp_admin)
    for _ in range(5):
        client.post(reverse("merges:search"), {"query": "nothing.example"})
    page = client.get(reverse("merges:search"))
    assert "本日の残りは0回" in page.text
    refused = client.post(reverse("merges:search"), {"query": "nothing.example"})
    assert "本日の検索回数(5回)を使い切りました" in refused.text
    assert MergeSearch.objects.count() == 5


def test_approving_on_the_request_page_needs_the_code_and_merges(client_for, msp_admin, colleague, pair):
    request = merge_request(colleague, *pair)
    client = client_for(msp_admin)
    page = client.get(reverse("merges:detail", args=[request.pk]))
    assert 'data-testid="approve-form"' in page.text and 'data-testid="merge-preview"' in page.text
    wrong = client.post(reverse("merges:approve", args=[request.pk]), {"confirmation": "nope"})
    assert wrong.status_code == 200 and "アカウントコード" in wrong.text
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    done = client.post(reverse("merges:approve", args=[request.pk]), {"confirmation": request.customer.account_code})
    assert done.status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED


def test_the_requester_sees_no_decision_forms_and_may_withdraw(client_for, colleague, pair):
    request = merge_request(colleague, *pair)
    client = client_for(colleague)
    page = client.get(reverse("merges:detail", args=[request.pk]))
    assert 'data-testid="approve-form"' not in page.text and 'data-testid="decision-refusal"' in page.text
    refused = client.post(reverse("merges:approve", args=[request.pk]), {"confirmation": request.customer.account_code})
    assert "別の管理者" in refused.text
    client.post(reverse("merges:cancel", args=[request.pk]))
    request.refresh_from_db()
    assert request.status == RequestStatus.CANCELLED


def test_a_rejection_without_a_reason_is_refused_on_the_page(client_for, msp_admin, colleague, pair):
    request = merge_request(colleague, *pair)
    response = client_for(msp_admin).post(reverse("merges:reject", args=[request.pk]), {"reason": "   "})
    assert response.status_code == 200 and "却下の理由を入力してください" in response.text
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING


def test_decisions_refuse_get_read_only_staff_and_other_msps(
    client_for, msp_admin, msp_viewer, other_msp_admin, colleague, pair
):
    request = merge_request(colleague, *pair)
    for name in ("approve", "reject", "cancel"):
        url = reverse(f"merges:{name}", args=[request.pk])
        assert client_for(msp_admin).get(url).status_code == 405
        assert client_for(msp_viewer).post(url, {"reason": "x"}).status_code == 403
        assert client_for(other_msp_admin).post(url, {"reason": "x"}).status_code == 404
    assert client_for(other_msp_admin).get(reverse("merges:detail", args=[request.pk])).status_code == 404
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING


def test_the_transfer_form_finds_the_msp_by_code_and_sends_the_request(client_for, msp_admin, msp_org, other_msp_org):
    customer = active(msp_org)
    take(customer, 30)
    client = client_for(msp_admin)
    url = reverse("merges:transfer_request", args=[customer.pk])
    unknown = client.post(url, {"msp_code": "MSP-99999", "preview": "1", "token": "x"})
    assert "このコードの有効なMSPはありません" in unknown.text
    preview = client.post(url, {"msp_code": msp_code(other_msp_org), "preview": "1", "token": "x"})
    assert 'data-testid="transfer-preview"' in preview.text and "不足分" in preview.text
    token = mint_form_key(msp_admin, "transfer_request")
    response = client.post(url, {"msp_code": msp_code(other_msp_org), "note": "", "token": token})
    assert response.status_code == 302
    assert AccountRequest.objects.get().to_organization == other_msp_org


def test_an_accepted_transfer_answers_404_to_the_old_msp_at_once(
    client_for, msp_admin, other_msp_admin, msp_org, other_msp_org
):
    from .factories import transfer_request

    customer = active(msp_org)
    request = transfer_request(msp_admin, customer, other_msp_org)
    client_for(other_msp_admin).post(reverse("merges:approve", args=[request.pk]))
    assert client_for(msp_admin).get(reverse("customers:detail", args=[customer.pk])).status_code == 404
    assert client_for(other_msp_admin).get(reverse("customers:detail", args=[customer.pk])).status_code == 200


def test_suggestions_show_on_the_dashboard_and_detail_page_until_dismissed(client_for, msp_admin, pair):
    first, second = pair
    client = client_for(msp_admin)
    dashboard = client.get(reverse("dashboard"))
    assert f'data-pair="{first.account_code}+{second.account_code}"' in dashboard.text
    detail = client.get(reverse("customers:detail", args=[first.pk]))
    assert f"suggestion-{second.account_code}" in detail.text
    response = client.post(
        reverse("merges:dismiss_suggestion", args=[first.pk]), {"other": second.pk, "next": reverse("dashboard")}
    )
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    assert DismissedSuggestion.objects.count() == 1
    assert 'data-testid="panel-merge-suggestions"' not in client.get(reverse("dashboard")).text


def test_dismissing_refuses_get_viewers_and_other_msps_accounts(client_for, msp_admin, msp_viewer, pair, other_msp_org):
    first, second = pair
    url = reverse("merges:dismiss_suggestion", args=[first.pk])
    assert client_for(msp_admin).get(url).status_code == 405
    assert client_for(msp_viewer).post(url, {"other": second.pk}).status_code == 403
    theirs = active(other_msp_org)
    assert client_for(msp_admin).post(url, {"other": theirs.pk}).status_code == 404
    assert not DismissedSuggestion.objects.exists()


def test_a_merged_account_links_to_its_survivor_and_its_row_is_grey(client_for, msp_admin, colleague, pair):
    from merges import services

    request = merge_request(colleague, *pair)
    services.request_approve(actor=msp_admin, account_request=request, confirmation=request.customer.account_code)
    client = client_for(msp_admin)
    detail = client.get(reverse("customers:detail", args=[request.customer.pk]))
    assert 'data-testid="merged-into"' in detail.text and request.survivor.account_code in detail.text
    listing = client.get(reverse("customers:list"))
    assert f'<tr id="customer-{request.customer.pk}" class="row-cancelled" data-status="merged"' in listing.text
    assert "統合済み" in listing.text
    assert AuditEvent.objects.filter(action="customer.merge", customer=request.customer).exists()
