import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse

from audit.models import AuditEvent
from customers.lifecycle import POINTS_STATUSES
from customers.models import CustomerAccount, CustomerStatus
from customers.tests.factories import CustomerAccountFactory
from msp_portal import dates
from points import ledger
from points.forms import mint_form_key
from points.models import ConsumptionRule, LedgerAccount, Transfer, TransferKind
from points.selectors import ledger_problems, pool_balance

from .helpers import fund, give, take

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def token_of(response) -> str:
    return re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1)


def points_of(customer) -> int:
    return CustomerAccount.objects.with_points().get(pk=customer.pk).points_balance


@pytest.fixture
def customer(msp_org):
    fund(msp_org, 1000)
    return CustomerAccountFactory(organization=msp_org, contracted_users=20)


# --- ポイント数更新 -----------------------------------------------------------------------------


def change_url(customer):
    return reverse("points:change", args=[customer.pk])


def test_the_change_popup_shows_current_points_and_the_pool(client_for, msp_admin, customer):
    give(customer, 70)
    response = client_for(msp_admin).get(change_url(customer), **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-points-current="70"' in body
    assert 'data-testid="pool-points">930<' in body
    assert "ポイント数更新" in body


def test_adding_points_through_the_popup_moves_them_from_the_pool(client_for, msp_billing, customer):
    client = client_for(msp_billing)
    token = token_of(client.get(change_url(customer)))
    response = client.post(change_url(customer), {"operation": "add", "amount": "120", "token": token}, **HTMX)
    assert response.status_code == 200 and response.headers["HX-Redirect"]
    assert points_of(customer) == 120
    assert pool_balance(customer.organization_id) == 880
    assert AuditEvent.objects.filter(action="points.allocate", actor=msp_billing).count() == 1


def test_full_width_digits_and_separators_are_understood(client_for, msp_admin, customer):
    client = client_for(msp_admin)
    token = token_of(client.get(change_url(customer)))
    client.post(change_url(customer), {"operation": "add", "amount": "１，０００", "token": token})
    assert points_of(customer) == 1000


def test_the_same_popup_form_posted_twice_moves_points_once(client_for, msp_admin, customer):
    client = client_for(msp_admin)
    token = token_of(client.get(change_url(customer)))
    data = {"operation": "add", "amount": "100", "token": token}
    first = client.post(change_url(customer), data, **HTMX)
    second = client.post(change_url(customer), data, **HTMX)
    assert first.headers["HX-Redirect"] and second.headers["HX-Redirect"]
    assert points_of(customer) == 100
    assert Transfer.objects.filter(kind=TransferKind.ALLOCATE).count() == 1


def test_a_reused_token_with_another_amount_is_refused(client_for, msp_admin, customer):
    client = client_for(msp_admin)
    token = token_of(client.get(change_url(customer)))
    client.post(change_url(customer), {"operation": "add", "amount": "100", "token": token})
    response = client.post(change_url(customer), {"operation": "add", "amount": "999", "token": token}, **HTMX)
    assert response.status_code == 200 and "HX-Redirect" not in response.headers
    assert points_of(customer) == 100


def test_removing_into_a_negative_balance_warns_first_and_then_moves_once_confirmed(client_for, msp_admin, customer):
    give(customer, 30)
    client = client_for(msp_admin)
    token = token_of(client.get(change_url(customer)))
    data = {"operation": "remove", "amount": "50", "token": token}
    warned = client.post(change_url(customer), data, **HTMX)
    assert warned.status_code == 200 and "HX-Redirect" not in warned.headers
    body = warned.content.decode()
    assert 'name="confirm_negative"' in body and "-20" in body
    assert points_of(customer) == 30
    confirmed = client.post(change_url(customer), {**data, "confirm_negative": "on"}, **HTMX)
    assert confirmed.headers["HX-Redirect"]
    assert points_of(customer) == -20
    assert pool_balance(customer.organization_id) == 1000 - 30 + 50


def test_adding_more_than_the_pool_holds_is_refused_with_the_missing_points(client_for, msp_admin, customer):
    client = client_for(msp_admin)
    token = token_of(client.get(change_url(customer)))
    response = client.post(change_url(customer), {"operation": "add", "amount": "1500", "token": token}, **HTMX)
    assert response.status_code == 200
    assert "500" in response.content.decode() and "ディストリビュータ" in response.content.decode()
    assert points_of(customer) == 0 and pool_balance(customer.organization_id) == 1000


@pytest.mark.parametrize(
    "amount", ["0", "-5", "1.5", "abc", "", "99999999999", "1e3", "<script>alert(1)</script>", "１０.５"]
)
def test_bad_amounts_are_answered_with_a_message_and_change_nothing(client_for, msp_admin, customer, amount):
    client = client_for(msp_admin)
    token = token_of(client.get(change_url(customer)))
    response = client.post(change_url(customer), {"operation": "add", "amount": amount, "token": token}, **HTMX)
    assert response.status_code == 200 and "HX-Redirect" not in response.headers
    assert "invalid-feedback" in response.content.decode()
    assert "<script>alert" not in response.content.decode()
    assert points_of(customer) == 0 and not Transfer.objects.filter(kind=TransferKind.ALLOCATE).exists()


def test_a_forged_or_foreign_token_is_refused(client_for, msp_admin, msp_billing, customer):
    client = client_for(msp_admin)
    for token in ("form:change:forged", mint_form_key(msp_billing, "change"), mint_form_key(msp_admin, "purchase")):
        response = client.post(change_url(customer), {"operation": "add", "amount": "5", "token": token}, **HTMX)
        assert response.status_code == 200 and "HX-Redirect" not in response.headers
    assert points_of(customer) == 0


def test_an_unknown_operation_is_refused(client_for, msp_admin, customer):
    client = client_for(msp_admin)
    token = token_of(client.get(change_url(customer)))
    client.post(change_url(customer), {"operation": "steal", "amount": "5", "token": token})
    assert points_of(customer) == 0


def test_the_change_popup_rejects_other_methods(client_for, msp_admin, customer):
    assert client_for(msp_admin).put(change_url(customer)).status_code == 405
    assert client_for(msp_admin).delete(change_url(customer)).status_code == 405


@pytest.mark.parametrize("persona", ["msp_sales", "msp_viewer", "operator_viewer"])
def test_roles_without_points_change_get_403_and_change_nothing(request, client_for, customer, persona):
    user = request.getfixturevalue(persona)
    client = client_for(user)
    assert client.get(change_url(customer)).status_code == 403
    token = mint_form_key(user, "change")
    assert client.post(change_url(customer), {"operation": "add", "amount": "5", "token": token}).status_code == 403
    assert points_of(customer) == 0


def test_support_staff_never_change_points(client_for, support_user, customer):
    client = client_for(support_user)
    CustomerAccount.objects.with_points().filter(pk=customer.pk).update(support_account=support_user.organization)
    token = mint_form_key(support_user, "change")
    assert client.get(change_url(customer)).status_code == 403
    assert client.post(change_url(customer), {"operation": "add", "amount": "5", "token": token}).status_code == 403
    assert points_of(customer) == 0


def test_another_msp_gets_404_for_a_customer_it_does_not_manage(client_for, other_msp_admin, customer):
    client = client_for(other_msp_admin)
    token = mint_form_key(other_msp_admin, "change")
    response = client.post(change_url(customer), {"operation": "remove", "amount": "5", "token": token})
    assert response.status_code == 404
    assert points_of(customer) == 0


def test_a_privileged_msp_changes_points_of_its_child_msps_customers(client_for, pmsp_admin, customer):
    client = client_for(pmsp_admin)
    token = token_of(client.get(change_url(customer)))
    client.post(change_url(customer), {"operation": "add", "amount": "10", "token": token})
    assert points_of(customer) == 10


# --- 必要ポイントの補充 ------------------------------------------------------------------------


def short_customer(organization, users, balance=0):
    customer = CustomerAccountFactory(organization=organization, contracted_users=users)
    if balance:
        give(customer, balance)
    LedgerAccount.objects.filter(customer_id=customer.pk).update(estimated_balance=balance - users)
    return customer


def test_replenish_previews_each_account_and_the_total_then_replenishes(client_for, msp_billing, msp_org):
    fund(msp_org, 500)
    first, second = short_customer(msp_org, 30, 10), short_customer(msp_org, 40)
    fine = short_customer(msp_org, 10, 100)
    client = client_for(msp_billing)
    url = reverse("points:replenish")
    preview = client.post(url, {"ids": [first.pk, second.pk, fine.pk]}, **HTMX)
    assert preview.status_code == 200
    body = preview.content.decode()
    assert 'data-testid="replenish-total">60<' in body
    assert points_of(first) == 10  # a preview changes nothing
    done = client.post(url, {"ids": [first.pk, second.pk, fine.pk], "token": token_of(preview)}, **HTMX)
    assert done.headers["HX-Redirect"]
    assert [CustomerAccount.objects.with_points().get(pk=c.pk).estimated_balance for c in (first, second, fine)] == [
        0,
        0,
        90,
    ]
    assert pool_balance(msp_org) == 500 - 10 - 100 - 60
    again = client.post(url, {"ids": [first.pk, second.pk, fine.pk], "token": token_of(preview)}, **HTMX)
    assert again.headers["HX-Redirect"]
    assert pool_balance(msp_org) == 500 - 10 - 100 - 60


def test_replenish_is_refused_whole_when_the_pool_is_short(client_for, msp_admin, msp_org):
    fund(msp_org, 50)
    first, second = short_customer(msp_org, 30), short_customer(msp_org, 30)
    client = client_for(msp_admin)
    url = reverse("points:replenish")
    preview = client.post(url, {"ids": [first.pk, second.pk]}, **HTMX)
    assert 'data-testid="pool-short"' in preview.content.decode()
    response = client.post(url, {"ids": [first.pk, second.pk], "token": token_of(preview)}, **HTMX)
    assert response.status_code == 200 and "HX-Redirect" not in response.headers
    assert pool_balance(msp_org) == 50
    assert not Transfer.objects.filter(kind=TransferKind.ALLOCATE).exists()


def test_replenish_with_another_msps_account_answers_404_and_changes_nothing(
    client_for, msp_admin, msp_org, other_msp_org
):
    fund(msp_org, 500)
    fund(other_msp_org, 500)
    mine, theirs = short_customer(msp_org, 30), short_customer(other_msp_org, 30)
    client = client_for(msp_admin)
    token = mint_form_key(msp_admin, "replenish")
    response = client.post(reverse("points:replenish"), {"ids": [mine.pk, theirs.pk], "token": token})
    assert response.status_code == 404
    assert client.post(reverse("points:replenish"), {"ids": ["1; DROP"]}).status_code == 400
    assert not Transfer.objects.filter(kind=TransferKind.ALLOCATE).exists()


def test_replenish_needs_the_replenish_capability(client_for, msp_sales, msp_org):
    mine = short_customer(msp_org, 30)
    assert client_for(msp_sales).post(reverse("points:replenish"), {"ids": [mine.pk]}).status_code == 403
    assert client_for(msp_sales).put(reverse("points:replenish")).status_code == 403


def test_replenish_rejects_other_methods(client_for, msp_admin):
    assert client_for(msp_admin).put(reverse("points:replenish")).status_code == 405


# --- Pool page -------------------------------------------------------------------------------


def test_an_msp_sees_its_pool_balance_and_history(client_for, msp_viewer, customer):
    give(customer, 100)
    response = client_for(msp_viewer).get(reverse("points:pool"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="pool-balance">900<' in body
    assert customer.account_code in body
    assert 'data-testid="debt-banner"' not in body


def test_the_pool_history_labels_a_purchase_with_its_order_reference(client_for, msp_admin, customer):
    # "Order" alone fell through to Django's catalogue, which reads it as a sort order (並び変え).
    body = client_for(msp_admin).get(reverse("points:pool"), {"kind": "purchase"}).content.decode()
    assert "発注番号: PO-1" in body and "並び変え" not in body


def test_the_pool_history_filters_by_kind_and_customer(client_for, msp_admin, customer, msp_org):
    other = CustomerAccountFactory(organization=msp_org)
    give(customer, 10)
    give(other, 20)
    client = client_for(msp_admin)
    body = client.get(reverse("points:pool"), {"customer": customer.account_code}).content.decode()
    assert customer.account_code in body and other.account_code not in body
    body = client.get(reverse("points:pool"), {"kind": "purchase"}).content.decode()
    assert customer.account_code not in body and "PO-1" in body
    body = client.get(reverse("points:pool"), {"date_from": "2000-01-01", "date_to": "2000-01-02"}).content.decode()
    assert "PO-1" not in body


def test_the_pool_page_runs_a_fixed_number_of_queries_whatever_the_page_size(
    client_for, msp_admin, msp_org, django_assert_num_queries
):
    fund(msp_org, 10_000)
    for _ in range(30):
        give(CustomerAccountFactory(organization=msp_org), 5)
    client = client_for(msp_admin)
    client.get(reverse("points:pool"))  # warm the session and content types
    counts = []
    for size in (5, 25):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("points:pool"), {"per_page": size}).status_code == 200
        counts.append(len(captured))
    with django_assert_num_queries(counts[0]):
        client.get(reverse("points:pool"), {"per_page": 25})
    assert counts[0] == counts[1]


def test_a_pool_in_debt_shows_the_banner_to_the_msp_and_the_operator(client_for, msp_admin, operator_user, msp_org):
    pool, wallet = ledger.pool_for(msp_org), ledger.wallet_for(CustomerAccountFactory(organization=msp_org))
    from django.db import transaction

    with transaction.atomic():
        locked = ledger.lock_accounts(pool, wallet)
        ledger.post(
            kind=TransferKind.SETTLEMENT_TOPUP,
            debit=locked[pool.pk],
            credit=locked[wallet.pk],
            amount=75,
            idempotency_key="settle:x",
        )
    for user in (msp_admin, operator_user):
        body = client_for(user).get(reverse("points:pool")).content.decode()
        assert 'data-testid="debt-banner"' in body and "-75" in body


def test_the_operator_sees_every_pool_and_chooses_one(client_for, operator_user, msp_org, other_msp_org):
    fund(msp_org, 10)
    fund(other_msp_org, 20)
    client = client_for(operator_user)
    body = client.get(reverse("points:pool")).content.decode()
    assert msp_org.name in body and other_msp_org.name in body
    chosen = client.get(reverse("points:pool"), {"organization": other_msp_org.pk}).content.decode()
    assert 'data-testid="pool-balance">20<' in chosen


def test_a_privileged_msp_sees_its_childs_pool_but_no_one_sees_a_stranger_pool(
    client_for, pmsp_admin, msp_admin, msp_org, other_msp_org, pmsp_org
):
    fund(msp_org, 10)
    assert client_for(pmsp_admin).get(reverse("points:pool"), {"organization": msp_org.pk}).status_code == 200
    assert client_for(pmsp_admin).get(reverse("points:pool"), {"organization": other_msp_org.pk}).status_code == 404
    assert client_for(msp_admin).get(reverse("points:pool"), {"organization": pmsp_org.pk}).status_code == 404
    assert client_for(msp_admin).get(reverse("points:pool"), {"organization": "x"}).status_code == 404


def test_support_staff_cannot_see_pools(client_for, support_user):
    assert client_for(support_user).get(reverse("points:pool")).status_code == 403


def test_the_pool_page_rejects_post(client_for, msp_admin):
    assert client_for(msp_admin).post(reverse("points:pool")).status_code == 405


# --- Operator: purchases, adjustments, reversals ------------------------------------------------


def test_the_operator_records_a_purchase_for_an_msp(client_for, operator_user, msp_org):
    client = client_for(operator_user)
    token = token_of(client.get(reverse("points:purchase_new")))
    data = {"organization": msp_org.pk, "amount": "3000", "order_reference": "DIST-9", "token": token}
    client.post(reverse("points:purchase_new"), data, **HTMX)
    client.post(reverse("points:purchase_new"), data, **HTMX)
    assert pool_balance(msp_org) == 3000
    assert Transfer.objects.get(kind=TransferKind.PURCHASE).order_reference == "DIST-9"


@pytest.mark.parametrize("persona", ["msp_admin", "operator_viewer"])
def test_only_operator_admins_record_purchases(request, client_for, msp_org, persona):
    user = request.getfixturevalue(persona)
    token = mint_form_key(user, "purchase")
    data = {"organization": msp_org.pk, "amount": "3000", "order_reference": "X", "token": token}
    assert client_for(user).post(reverse("points:purchase_new"), data).status_code == 403
    assert pool_balance(msp_org) == 0


def test_a_purchase_for_a_support_account_or_without_reference_is_refused(
    client_for, operator_user, support_org, msp_org
):
    client = client_for(operator_user)
    for data in ({"organization": support_org.pk, "order_reference": "X"}, {"organization": msp_org.pk}):
        token = token_of(client.get(reverse("points:purchase_new")))
        response = client.post(reverse("points:purchase_new"), {**data, "amount": "5", "token": token}, **HTMX)
        assert "HX-Redirect" not in response.headers
    assert not Transfer.objects.exists()


def test_the_operator_adjusts_a_wallet_by_account_code_with_a_reason(client_for, operator_user, customer):
    client = client_for(operator_user)
    token = token_of(client.get(reverse("points:adjustment_new")))
    data = {"target": "wallet", "account_code": customer.account_code.upper(), "amount": "-15", "reason": "Fix"}
    response = client.post(reverse("points:adjustment_new"), {**data, "token": token}, **HTMX)
    assert response.headers["HX-Redirect"]
    assert points_of(customer) == -15
    no_reason = client.post(reverse("points:adjustment_new"), {**data, "reason": "", "token": token}, **HTMX)
    assert "HX-Redirect" not in no_reason.headers
    assert client_for(operator_user).put(reverse("points:adjustment_new")).status_code == 405


def test_msp_admins_cannot_adjust_or_reverse(client_for, msp_admin, customer):
    transfer = give(customer, 5)
    assert client_for(msp_admin).get(reverse("points:adjustment_new")).status_code == 403
    url = reverse("points:transfer_reverse", args=[transfer.pk])
    assert client_for(msp_admin).post(url, {"reason": "x"}).status_code == 403
    assert points_of(customer) == 5


def test_the_operator_reverses_a_transfer_from_the_pool_history(client_for, operator_user, customer):
    transfer = give(customer, 40)
    client = client_for(operator_user)
    page = client.get(reverse("points:pool"), {"organization": customer.organization_id}).content.decode()
    url = reverse("points:transfer_reverse", args=[transfer.pk])
    assert url in page
    client.post(url, {"reason": "wrong account"}, **HTMX)
    client.post(url, {"reason": "wrong account"}, **HTMX)
    assert points_of(customer) == 0 and pool_balance(customer.organization_id) == 1000
    assert ledger_problems() == []


# --- Consumption rules -----------------------------------------------------------------------


@time_machine.travel(dt.datetime(2026, 11, 10, 12, tzinfo=dates.TOKYO), tick=False)
def test_an_operator_adds_a_future_rule_and_the_estimates_follow_it(client_for, operator_user, msp_org):
    customer = CustomerAccountFactory(
        organization=msp_org, contracted_users=30, activated_at=dates.start_of_day(dt.date(2026, 10, 1))
    )
    client = client_for(operator_user)
    assert client.get(reverse("points:rules")).status_code == 200
    data = {"effective_from": "2026-11-20", "base_points": "5", "included_users": "0", "points_per_extra_user": "2"}
    response = client.post(reverse("points:rule_new"), data, **HTMX)
    assert response.headers["HX-Redirect"]
    assert CustomerAccount.objects.with_points().get(pk=customer.pk).estimated_balance == -(5 + 30 * 2)
    past = client.post(reverse("points:rule_new"), {**data, "effective_from": "2026-11-10"}, **HTMX)
    assert "HX-Redirect" not in past.headers
    assert ConsumptionRule.objects.count() == 2


@time_machine.travel(dt.datetime(2026, 11, 10, 12, tzinfo=dates.TOKYO), tick=False)
def test_only_a_rule_not_yet_in_force_can_be_withdrawn(client_for, operator_user):
    future = ConsumptionRule.objects.create(
        effective_from=dt.date(2027, 1, 1), base_points=1, included_users=1, points_per_extra_user=1
    )
    current = ConsumptionRule.objects.get(effective_from=dt.date(2000, 1, 1))
    client = client_for(operator_user)
    client.post(reverse("points:rule_delete", args=[current.pk]))
    client.post(reverse("points:rule_delete", args=[future.pk]))
    assert list(ConsumptionRule.objects.values_list("pk", flat=True)) == [current.pk]
    assert client.get(reverse("points:rule_delete", args=[current.pk])).status_code == 405


def test_msp_staff_read_the_rules_but_cannot_add_one(client_for, msp_admin, support_user):
    assert client_for(msp_admin).get(reverse("points:rules")).status_code == 200
    data = {"effective_from": "2099-01-01", "base_points": "5", "included_users": "0", "points_per_extra_user": "2"}
    assert client_for(msp_admin).post(reverse("points:rule_new"), data).status_code == 403
    assert client_for(support_user).get(reverse("points:rules")).status_code == 403
    assert ConsumptionRule.objects.count() == 1


# --- A customer's points history -------------------------------------------------------------


def test_the_customer_detail_page_lists_every_transfer_with_balance_after_and_a_chart(client_for, msp_viewer, customer):
    give(customer, 100)
    take(customer, 130)
    response = client_for(msp_viewer).get(reverse("customers:detail", args=[customer.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="balance-chart"' in body and "<svg" in body
    assert body.count("data-transfer=") == 2
    assert "-30" in body and 'data-testid="customer-balance">-30<' in body


@pytest.mark.parametrize("status", [status for status, _label in CustomerStatus.choices])
def test_the_detail_pages_change_button_follows_the_accounts_that_can_move_points(
    client_for, msp_admin, msp_org, status
):
    customer = CustomerAccountFactory(organization=msp_org, status=status)
    body = client_for(msp_admin).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert (reverse("points:change", args=[customer.pk]) in body) == (status in POINTS_STATUSES)


def test_the_customer_points_history_is_scoped(client_for, other_msp_admin, support_user, customer):
    url = reverse("customers:detail", args=[customer.pk])
    assert client_for(other_msp_admin).get(url).status_code == 404
    assert client_for(support_user).get(url).status_code == 404
    CustomerAccount.objects.with_points().filter(pk=customer.pk).update(support_account=support_user.organization)
    assert client_for(support_user).get(url).status_code == 200
    assert client_for(support_user).post(url).status_code == 405


# --- The customer list: 現在のポイント, 「M/25の推定残ポイント数」, shortage filter, bulk action ----------


def list_body(client, **params) -> str:
    return client.get(reverse("customers:list"), params).content.decode()


@time_machine.travel(dt.datetime(2026, 11, 24, 12, tzinfo=dates.TOKYO), tick=False)
def test_the_list_shows_points_and_the_estimate_labelled_with_the_next_25th(client_for, msp_billing, customer):
    give(customer, 5)
    LedgerAccount.objects.filter(customer_id=customer.pk).update(estimated_balance=-15)
    body = list_body(client_for(msp_billing))
    assert "11/25の推定残ポイント数" in body
    assert 'data-testid="points-balance">5<' in body
    assert '<span class="num-value points-negative" data-testid="points-estimate">-15<' in body
    assert reverse("points:change", args=[customer.pk]) in body
    assert 'data-action="replenish"' in body and "必要ポイントの補充" in body


@time_machine.travel(dt.datetime(2026, 11, 25, 12, tzinfo=dates.TOKYO), tick=False)
def test_from_the_25th_the_estimate_is_labelled_with_next_months_25th(client_for, msp_admin, customer):
    assert "12/25の推定残ポイント数" in list_body(client_for(msp_admin))


def test_read_only_roles_see_points_without_the_change_button_or_the_bulk_action(client_for, msp_viewer, customer):
    body = list_body(client_for(msp_viewer))
    assert 'data-testid="points-balance"' in body
    assert reverse("points:change", args=[customer.pk]) not in body
    assert 'data-action="replenish"' not in body


def test_the_list_sorts_by_the_estimate_and_filters_expected_shortages(client_for, msp_admin, msp_org):
    estimates = {-30: None, 12: None, -5: None, 0: None}
    for value in estimates:
        estimates[value] = CustomerAccountFactory(organization=msp_org, estimated_balance=value)
    client = client_for(msp_admin)
    codes = [c.account_code for _, c in sorted(estimates.items())]

    def order(body):
        return sorted(codes, key=body.index)

    assert order(list_body(client, sort="estimated_balance")) == codes
    assert order(list_body(client, sort="-estimated_balance")) == codes[::-1]
    short = list_body(client, shortage="yes")
    assert estimates[-30].account_code in short and estimates[-5].account_code in short
    assert estimates[0].account_code not in short and estimates[12].account_code not in short
    fine = list_body(client, shortage="no")
    assert estimates[-30].account_code not in fine and estimates[0].account_code in fine


def test_the_list_sorts_by_current_points(client_for, msp_admin, msp_org):
    low = CustomerAccountFactory(organization=msp_org, points_balance=-3)
    high = CustomerAccountFactory(organization=msp_org, points_balance=90)
    body = list_body(client_for(msp_admin), sort="-points_balance")
    assert body.index(high.account_code) < body.index(low.account_code)


def test_the_list_with_points_columns_runs_the_same_queries_at_two_page_sizes(client_for, msp_billing, msp_org):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for index in range(60):
        CustomerAccountFactory(organization=msp_org, points_balance=index - 30, estimated_balance=index - 70)
    client = client_for(msp_billing)
    counts = []
    for per_page in (25, 50):
        with CaptureQueriesContext(connection) as captured:
            body = list_body(client, per_page=per_page, sort="estimated_balance", shortage="yes")
        assert body.count('data-testid="points-estimate"') == per_page
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_the_replenish_popup_without_a_selection_asks_for_one_and_changes_nothing(client_for, msp_billing):
    from django.urls import reverse

    from points.models import Transfer

    response = client_for(msp_billing).post(reverse("points:replenish"), {})
    assert response.status_code == 200
    assert "顧客アカウントを1件以上選択してください" in response.content.decode()
    assert not Transfer.objects.exists()
