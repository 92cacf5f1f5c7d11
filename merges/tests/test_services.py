"""Merge and transfer requests through their services (DESIGN.md §11): who may ask and decide,
what a merge and a transfer do to the accounts, their points and people, and what a pending
request locks."""

import datetime as dt

import pytest
import time_machine
from django.core import mail

from accounts.tests.factories import OrganizationFactory, UserFactory
from billing_jobs.services import run_billing
from billing_jobs.tests.factories import at, balance_of, consumptions
from customer_portal.models import CustomerAdmin, ServiceUser
from customers.cancellation import cancel_due, customer_cancel, customer_schedule_cancellation
from customers.models import ContractChange, CustomerAccount, CustomerStatus
from customers.selectors import customers_visible_to
from customers.tests.factories import CustomerAccountFactory
from merges import services
from merges.models import AccountRequest, MergeSearch, RequestStatus
from merges.selectors import merge_preview, msp_code, msp_for_code, suggestion_pairs, suggestions_for
from msp_portal.errors import DomainError
from msp_portal.permissions import OrganizationKind
from points import ledger
from points.models import LedgerAccount, Transfer, TransferKind
from points.selectors import ledger_problems, pool_balance

from .factories import active, key, merge_request, transfer_request

pytestmark = pytest.mark.django_db

NOW = at(dt.date(2026, 11, 10), 12)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def colleague(msp_org):
    """A second administrator of the same MSP (the four-eyes approver)."""
    return UserFactory(
        email="msp-admin-2@test.example", membership__organization=msp_org, membership__role="admin", language="en"
    )


def customer_row(customer) -> CustomerAccount:
    return CustomerAccount.objects.with_points().get(pk=customer.pk)


# --- Merges within one MSP -------------------------------------------------------------------------


def test_a_merge_sums_points_and_users_and_leaves_the_absorbed_account_merged_at_zero(msp_admin, colleague, msp_org):
    survivor = active(msp_org, users=20, points=120, support_account=None)
    absorbed = active(msp_org, users=15, points=30)
    request = merge_request(msp_admin, survivor, absorbed)
    assert (request.customer, request.survivor, request.status) == (absorbed, survivor, RequestStatus.PENDING)

    services.request_approve(actor=colleague, account_request=request, confirmation=absorbed.account_code)

    survivor, absorbed = customer_row(survivor), customer_row(absorbed)
    assert (survivor.status, survivor.contracted_users, survivor.points_balance) == ("active", 35, 150)
    assert (absorbed.status, absorbed.points_balance) == (CustomerStatus.MERGED, 0)
    assert absorbed.account_code and CustomerAccount.objects.filter(account_code=absorbed.account_code).exists()
    change = ContractChange.objects.filter(customer=survivor).latest("effective_at", "id")
    assert (change.old_users, change.new_users, change.actor) == (20, 35, colleague)
    merge = Transfer.objects.get(kind=TransferKind.MERGE)
    assert (merge.customer_id, merge.snapshot["survivor"], merge.amount) == (absorbed.pk, survivor.pk, 30)
    assert merge.debit_account == ledger.wallet_for(absorbed) and merge.credit_account == ledger.wallet_for(survivor)
    request.refresh_from_db()
    assert (request.status, request.decided_by, request.result["points_moved"]) == ("approved", colleague, 30)
    assert absorbed.status_changes.last().to_status == CustomerStatus.MERGED
    assert ledger_problems() == []


def test_a_negative_absorbed_balance_moves_the_debt_to_the_survivor(msp_admin, colleague, msp_org):
    survivor = active(msp_org, points=100)
    absorbed = active(msp_org)
    services_withdraw(absorbed, 40)
    services.request_approve(
        actor=colleague,
        account_request=merge_request(msp_admin, survivor, absorbed),
        confirmation=absorbed.account_code,
    )
    merge = Transfer.objects.get(kind=TransferKind.MERGE)
    assert merge.debit_account == ledger.wallet_for(survivor) and merge.amount == 40
    assert (balance_of(survivor), balance_of(absorbed)) == (60, 0)
    assert ledger_problems() == []


def services_withdraw(customer, amount):
    from points.tests.helpers import take

    take(customer, amount)


def test_the_survivor_can_be_the_other_account_and_keeps_its_settings(msp_admin, colleague, msp_org, support_org):
    mine = active(msp_org, hidden_menus=["users"], support_account=support_org, cancellation_date=dt.date(2027, 3, 1))
    theirs = active(msp_org, hidden_menus=[])
    request = merge_request(msp_admin, mine, theirs, survivor_is_other=True)
    assert (request.customer, request.survivor) == (mine, theirs)
    services.request_approve(actor=colleague, account_request=request, confirmation=mine.account_code)
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert theirs.hidden_menus == [] and theirs.support_account is None
    # The absorbed account's cancellation date and support assignment are dropped.
    assert (mine.status, mine.cancellation_date, mine.support_account) == ("merged", None, None)


def test_the_absorbed_account_first_pays_the_25ths_it_owes_and_is_never_charged_again(msp_admin, colleague, msp_org):
    survivor = active(msp_org, users=20, points=100)
    # Activated on 11 October: October's 25th is owed (no run has charged it).
    absorbed = active(msp_org, users=25, points=100, days=30)
    services.request_approve(
        actor=colleague,
        account_request=merge_request(msp_admin, survivor, absorbed),
        confirmation=absorbed.account_code,
    )
    charge = consumptions(absorbed).get()
    assert (charge.period, charge.amount) == ("2026-10", 25)
    assert balance_of(survivor) == 175
    with time_machine.travel(at(dt.date(2026, 11, 25), 3), tick=False):
        run_billing(dt.date(2026, 11, 25))
    assert consumptions(absorbed).count() == 1
    assert consumptions(survivor, "2026-11").get().snapshot["contracted_users"] == 45
    assert ledger_problems() == []


def test_the_requester_cannot_approve_their_own_request(msp_admin, msp_org):
    survivor, absorbed = active(msp_org), active(msp_org)
    request = merge_request(msp_admin, survivor, absorbed)
    with pytest.raises(DomainError, match="別の管理者"):
        services.request_approve(actor=msp_admin, account_request=request, confirmation=absorbed.account_code)
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING and customer_row(absorbed).status == "active"


def test_the_operator_may_decide_any_request(msp_admin, operator_user, msp_org):
    survivor, absorbed = active(msp_org), active(msp_org)
    request = merge_request(msp_admin, survivor, absorbed)
    services.request_reject(actor=operator_user, account_request=request, reason="別会社です")
    request.refresh_from_db()
    assert (request.status, request.reason, request.decided_by) == ("rejected", "別会社です", operator_user)


def test_approval_needs_the_absorbed_accounts_code_typed(msp_admin, colleague, msp_org):
    survivor, absorbed = active(msp_org), active(msp_org)
    request = merge_request(msp_admin, survivor, absorbed)
    for typed in ("", survivor.account_code, absorbed.account_code.upper()):
        with pytest.raises(DomainError, match="アカウントコード"):
            services.request_approve(actor=colleague, account_request=request, confirmation=typed)
    assert customer_row(absorbed).status == "active"


def test_an_account_cancelled_meanwhile_is_refused_at_approval(msp_admin, colleague, msp_org):
    survivor = active(msp_org)
    absorbed = active(msp_org, cancellation_date=dt.date(2026, 11, 20))
    request = merge_request(msp_admin, survivor, absorbed)
    # The scheduled date set before the request is reached: the daily run cancels the account.
    with time_machine.travel(at(dt.date(2026, 11, 20), 1), tick=False):
        assert cancel_due(absorbed.pk, run_date=dt.date(2026, 11, 20))
        with pytest.raises(DomainError, match="統合を実行できません"):
            services.request_approve(actor=colleague, account_request=request, confirmation=absorbed.account_code)
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    assert customer_row(survivor).contracted_users == 20
    assert not Transfer.objects.filter(kind=TransferKind.MERGE).exists()


def test_an_expired_request_cannot_be_approved_and_the_daily_run_marks_it(msp_admin, colleague, msp_org, settings):
    settings.PORTAL_REQUEST_EXPIRY_DAYS = 30
    survivor, absorbed = active(msp_org), active(msp_org)
    request = merge_request(msp_admin, survivor, absorbed)
    with time_machine.travel(NOW + dt.timedelta(days=30, minutes=1), tick=False):
        with pytest.raises(DomainError, match="期限切れ"):
            services.request_approve(actor=colleague, account_request=request, confirmation=absorbed.account_code)
        # No longer pending in time: the accounts are free again.
        customer_schedule_cancellation(
            actor=msp_admin, customer=absorbed, cancellation_date=dt.date(2027, 1, 31), agreed=True
        )
        job = run_billing(dt.date(2026, 12, 10))
    request.refresh_from_db()
    assert (request.status, job.counts["requests_expired"]) == (RequestStatus.EXPIRED, 1)
    assert customer_row(absorbed).status == "active"


def test_a_pending_request_locks_its_accounts_against_cancellation_and_other_requests(
    msp_admin, msp_org, other_msp_org
):
    survivor, absorbed, third = active(msp_org), active(msp_org), active(msp_org)
    request = merge_request(msp_admin, survivor, absorbed)
    for account in (survivor, absorbed):
        with pytest.raises(DomainError, match=f"処理中の統合の申請\\(#{request.pk}\\)"):
            customer_cancel(actor=msp_admin, customer=account, agreed=True)
        with pytest.raises(DomainError, match="処理中"):
            customer_schedule_cancellation(
                actor=msp_admin, customer=account, cancellation_date=dt.date(2027, 1, 31), agreed=True
            )
        with pytest.raises(DomainError, match="処理中"):
            merge_request(msp_admin, third, account)
        with pytest.raises(DomainError, match="処理中"):
            transfer_request(msp_admin, account, other_msp_org)
    assert customer_row(absorbed).status == "active"
    services.request_cancel(actor=msp_admin, account_request=request)
    customer_cancel(actor=msp_admin, customer=absorbed, agreed=True)
    assert customer_row(absorbed).status == "cancelled"


def test_only_active_accounts_and_a_survivor_without_a_cancellation_date_can_be_merged(msp_admin, msp_org):
    survivor = active(msp_org, cancellation_date=dt.date(2027, 1, 31))
    with pytest.raises(DomainError, match="解約予定日"):
        merge_request(msp_admin, survivor, active(msp_org))
    with pytest.raises(DomainError, match="利用中のアカウントだけ"):
        merge_request(msp_admin, active(msp_org), CustomerAccountFactory(organization=msp_org, status="cancelled"))
    with pytest.raises(DomainError, match="別のアカウント"):
        merge_request(msp_admin, survivor, survivor)
    assert not AccountRequest.objects.exists()


def test_a_resubmitted_form_files_one_request(msp_admin, msp_org):
    survivor, absorbed = active(msp_org), active(msp_org)
    token = key()
    first = services.merge_request_create(
        actor=msp_admin, customer=survivor, other=absorbed, survivor_is_other=False, note="", idempotency_key=token
    )
    again = services.merge_request_create(
        actor=msp_admin, customer=survivor, other=absorbed, survivor_is_other=False, note="", idempotency_key=token
    )
    assert first.pk == again.pk and AccountRequest.objects.count() == 1


def test_a_decided_request_cannot_be_decided_again(msp_admin, colleague, msp_org):
    survivor, absorbed = active(msp_org), active(msp_org, points=5)
    request = merge_request(msp_admin, survivor, absorbed)
    services.request_approve(actor=colleague, account_request=request, confirmation=absorbed.account_code)
    with pytest.raises(DomainError, match="決定済み"):
        services.request_approve(actor=colleague, account_request=request, confirmation=absorbed.account_code)
    with pytest.raises(DomainError, match="決定済み"):
        services.request_cancel(actor=msp_admin, account_request=request)
    assert Transfer.objects.filter(kind=TransferKind.MERGE).count() == 1


def test_a_rejection_needs_a_reason_and_only_the_requesters_side_withdraws(
    msp_admin, other_msp_admin, msp_org, other_msp_org
):
    mine = active(msp_org)
    theirs = active(other_msp_org)
    MergeSearch.objects.create(user=msp_admin, query=theirs.email_domain).found.add(theirs)
    request = merge_request(msp_admin, mine, theirs)
    with pytest.raises(DomainError, match="理由"):
        services.request_reject(actor=other_msp_admin, account_request=request, reason="  ")
    with pytest.raises(DomainError, match="申請した側だけ"):
        services.request_cancel(actor=other_msp_admin, account_request=request)
    services.request_cancel(actor=msp_admin, account_request=request)
    request.refresh_from_db()
    assert request.status == RequestStatus.CANCELLED


# --- People ------------------------------------------------------------------------------------------


def _admin(customer, email):
    user = UserFactory(email=email, membership=None)
    return CustomerAdmin.objects.create(user=user, customer=customer)


def _user(customer, name):
    return ServiceUser.objects.create(customer=customer, user_name=name, email=f"{name}@x.example", display_name=name)


def test_the_absorbed_admins_become_users_of_the_survivor_and_its_users_move(msp_admin, colleague, msp_org):
    survivor, absorbed = active(msp_org, users=3), active(msp_org, users=2)
    _admin(survivor, "boss@a.example")
    former = _admin(absorbed, "boss@b.example")
    _user(survivor, "alice")
    _user(absorbed, "bob")
    services.request_approve(
        actor=colleague,
        account_request=merge_request(msp_admin, survivor, absorbed),
        confirmation=absorbed.account_code,
    )
    names = set(ServiceUser.objects.filter(customer=survivor).values_list("user_name", flat=True))
    assert names == {"alice", "bob", "boss@b.example"}
    former.refresh_from_db()
    assert former.is_active is False and former.user.is_active is False


def test_the_approver_may_keep_the_absorbed_admins_as_admins(msp_admin, colleague, msp_org):
    survivor, absorbed = active(msp_org), active(msp_org)
    former = _admin(absorbed, "boss@b.example")
    services.request_approve(
        actor=colleague,
        account_request=merge_request(msp_admin, survivor, absorbed),
        confirmation=absorbed.account_code,
        keep_admins=True,
    )
    former.refresh_from_db()
    assert (former.customer, former.is_active) == (survivor, True)
    assert not ServiceUser.objects.filter(user_name="boss@b.example").exists()


def test_a_merge_refuses_clashing_user_names_and_more_users_than_contracted(msp_admin, colleague, msp_org):
    survivor, absorbed = active(msp_org, users=1), active(msp_org, users=1)
    _user(survivor, "alice")
    _user(absorbed, "alice")
    request = merge_request(msp_admin, survivor, absorbed)
    assert any("alice" in problem for problem in merge_preview(absorbed, survivor).problems)
    with pytest.raises(DomainError, match="alice"):
        services.request_approve(actor=colleague, account_request=request, confirmation=absorbed.account_code)
    ServiceUser.objects.filter(customer=absorbed).update(user_name="bob")
    _admin(absorbed, "boss@b.example")
    with pytest.raises(DomainError, match="有効なユーザが 3 人となり、契約ユーザ数 2 を超え"):
        services.request_approve(actor=colleague, account_request=request, confirmation=absorbed.account_code)
    assert customer_row(absorbed).status == "active" and customer_row(survivor).contracted_users == 1
    services.request_approve(
        actor=colleague, account_request=request, confirmation=absorbed.account_code, keep_admins=True
    )
    assert customer_row(absorbed).status == "merged"


# --- Across MSPs -------------------------------------------------------------------------------------


def test_another_msps_account_is_named_only_after_a_search_found_it(msp_admin, other_msp_org, msp_org):
    mine, theirs = active(msp_org), active(other_msp_org)
    with pytest.raises(DomainError, match="検索"):
        merge_request(msp_admin, mine, theirs)
    assert services.merge_search(actor=msp_admin, query=f"info@{theirs.email_domain.upper()}") == [theirs]
    assert merge_request(msp_admin, mine, theirs).deciding_organization == other_msp_org


def test_a_merge_across_msps_is_decided_by_the_other_msp_and_moves_the_points(
    msp_admin, colleague, other_msp_admin, msp_org, other_msp_org
):
    mine = active(msp_org, points=50)
    theirs = active(other_msp_org, points=70)
    services.merge_search(actor=msp_admin, query=theirs.account_code)
    request = merge_request(msp_admin, mine, theirs, survivor_is_other=True)
    preview = merge_preview(mine, theirs)
    assert (preview.crosses_msps, preview.absorbed_moves, preview.points_after) == (True, 50, 120)
    with pytest.raises(DomainError, match="が決定します"):
        services.request_approve(actor=colleague, account_request=request, confirmation=mine.account_code)
    pools = pool_balance(msp_org.pk), pool_balance(other_msp_org.pk)
    services.request_approve(actor=other_msp_admin, account_request=request, confirmation=mine.account_code)
    assert (balance_of(theirs), customer_row(mine).status) == (120, "merged")
    assert (pool_balance(msp_org.pk), pool_balance(other_msp_org.pk)) == pools
    assert customer_row(theirs).organization == other_msp_org
    assert ledger_problems() == []


def test_the_search_reveals_only_other_msps_active_accounts_and_is_limited_to_five_a_day(
    msp_admin, msp_org, other_msp_org, settings
):
    settings.PORTAL_MERGE_SEARCHES_PER_DAY = 5
    theirs = active(other_msp_org, email_domain="shared.example.jp")
    active(msp_org, email_domain="shared.example.jp")
    CustomerAccountFactory(organization=other_msp_org, email_domain="shared.example.jp", status="cancelled")
    for _ in range(5):
        assert services.merge_search(actor=msp_admin, query="shared.example.jp") == [theirs]
    with pytest.raises(DomainError, match="5回"):
        services.merge_search(actor=msp_admin, query="shared.example.jp")
    assert MergeSearch.objects.filter(user=msp_admin).count() == 5
    with pytest.raises(DomainError, match="メールのドメイン"):
        services.merge_search(actor=msp_admin, query="  ")
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        assert services.merge_search(actor=msp_admin, query="shared.example.jp") == [theirs]


# --- Suggestions ------------------------------------------------------------------------------------


def test_suggestions_pair_active_accounts_sharing_a_domain_until_dismissed(msp_admin, msp_org, other_msp_org):
    first = active(msp_org, email_domain="same.example.jp")
    second = active(msp_org, email_domain="same.example.jp")
    CustomerAccountFactory(organization=msp_org, email_domain="same.example.jp", status="cancelled")
    active(other_msp_org, email_domain="same.example.jp")
    active(msp_org, email_domain="alone.example.jp")
    assert suggestion_pairs(msp_admin) == [(first, second)]
    assert suggestions_for(msp_admin, first) == [second]
    services.suggestion_dismiss(actor=msp_admin, customer=second, other=first)
    services.suggestion_dismiss(actor=msp_admin, customer=first, other=second)
    assert suggestion_pairs(msp_admin) == [] and suggestions_for(msp_admin, first) == []


# --- Transfers -------------------------------------------------------------------------------------


def test_an_accepted_transfer_moves_the_account_its_points_and_history_to_the_new_msp(
    msp_admin, other_msp_admin, msp_org, other_msp_org, support_org
):
    customer = active(msp_org, points=80, support_account=support_org)
    _admin(customer, "boss@c.example")
    pool_before = pool_balance(msp_org.pk)
    request = transfer_request(msp_admin, customer, msp_for_code(msp_code(other_msp_org)))
    assert request.deciding_organization == other_msp_org
    with pytest.raises(DomainError, match="別の管理者"):
        services.request_approve(actor=msp_admin, account_request=request)
    services.request_approve(actor=other_msp_admin, account_request=request)
    customer = customer_row(customer)
    assert (customer.organization, customer.support_account, customer.points_balance) == (other_msp_org, None, 80)
    assert LedgerAccount.objects.get(customer=customer).msp == other_msp_org
    assert CustomerAdmin.objects.get(user__email="boss@c.example").customer == customer
    assert not customers_visible_to(msp_admin).filter(pk=customer.pk).exists()
    assert customers_visible_to(other_msp_admin).filter(pk=customer.pk).exists()
    assert pool_balance(msp_org.pk) == pool_before
    with time_machine.travel(at(dt.date(2026, 11, 25), 3), tick=False):
        run_billing(dt.date(2026, 11, 25))
        run_billing(dt.date(2026, 11, 25))
    charge = consumptions(customer).get()
    assert charge.debit_account.msp == other_msp_org
    assert ledger_problems() == []


def test_the_operator_and_a_privileged_msp_among_its_own_transfer_directly(
    operator_user, pmsp_admin, pmsp_org, msp_org, other_msp_org
):
    customer = active(msp_org)
    request = transfer_request(operator_user, customer, other_msp_org)
    assert request.status == RequestStatus.APPROVED
    assert customer_row(customer).organization == other_msp_org
    own = active(msp_org)
    request = transfer_request(pmsp_admin, own, pmsp_org)
    assert (request.status, customer_row(own).organization) == (RequestStatus.APPROVED, pmsp_org)
    sibling = OrganizationFactory(kind=OrganizationKind.MSP)
    request = transfer_request(pmsp_admin, own, sibling)
    assert (request.status, customer_row(own).organization) == (RequestStatus.PENDING, pmsp_org)


def test_a_transfer_names_an_active_msp_other_than_the_accounts_own(msp_admin, msp_org, support_org):
    customer = active(msp_org)
    for target in (msp_org, support_org, OrganizationFactory(kind=OrganizationKind.MSP, is_active=False)):
        with pytest.raises(DomainError):
            transfer_request(msp_admin, customer, target)
    assert msp_for_code("MSP-99999") is None and msp_for_code("junk") is None
    assert msp_for_code(msp_code(support_org)) is None
    assert not AccountRequest.objects.exists()


# --- E-mails ---------------------------------------------------------------------------------------


def test_each_step_mails_the_other_side_after_commit_in_its_language(
    msp_admin, colleague, msp_org, django_capture_on_commit_callbacks
):
    survivor, absorbed = active(msp_org), active(msp_org)
    with django_capture_on_commit_callbacks(execute=True):
        request = merge_request(msp_admin, survivor, absorbed)
    # The deciding side's admins but the requester: the colleague, in English.
    assert [message.to for message in mail.outbox] == [[colleague.email]]
    assert "is waiting for your decision" in mail.outbox[0].subject  # the colleague reads English
    with django_capture_on_commit_callbacks(execute=True):
        services.request_approve(actor=colleague, account_request=request, confirmation=absorbed.account_code)
    assert mail.outbox[1].to == [msp_admin.email]
    assert "承認されました" in mail.outbox[1].subject


def test_a_refused_step_sends_nothing(msp_admin, msp_org, django_capture_on_commit_callbacks):
    survivor, absorbed = active(msp_org), active(msp_org)
    request = merge_request(msp_admin, survivor, absorbed)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(DomainError):
        services.request_approve(actor=msp_admin, account_request=request, confirmation=absorbed.account_code)
    assert mail.outbox == []
