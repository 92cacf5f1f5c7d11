import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from accounts.tests.factories import OrganizationFactory
from audit.models import AuditEvent
from customers import services
from customers.models import ContractChange, CustomerAccount, CustomerStatusChange
from customers.provisioning import ProvisioningBackend, ProvisioningError, TenantResult
from customers.selectors import approval_due_date, approval_is_overdue, customer_search, customers_visible_to
from customers.tests.factories import CustomerAccountFactory
from msp_portal.errors import DomainError
from points.models import LedgerAccount

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")


def registration(**overrides):
    data = {
        "account_code": "sakura-trading",
        "company_name": "株式会社さくら商事",
        "company_name_kana": "カブシキガイシャサクラショウジ",
        "email_domain": "sakura.example.jp",
        "contact_name": "山田 太郎",
        "contact_email": "yamada@sakura.example.jp",
        "contracted_users": 25,
        "reseller_name": "関西システム販売",
    }
    return data | overrides


def register(user, **overrides):
    return services.customer_register(actor=user, organization=user.organization, data=registration(**overrides))


def test_registration_puts_the_account_in_the_approval_queue_with_its_history(msp_admin):
    customer = register(msp_admin)

    assert customer.status == "pending_approval"
    assert customer.registered_by == msp_admin
    change = CustomerStatusChange.objects.get(customer=customer)
    assert (change.from_status, change.to_status, change.actor) == ("", "pending_approval", msp_admin)
    contract = ContractChange.objects.get(customer=customer)
    assert (contract.old_users, contract.new_users) == (None, 25)
    assert AuditEvent.objects.filter(action="customer.register", customer=customer).count() == 1
    assert "さくらしょうじ" in customer.search_text


def test_registration_refuses_a_duplicate_account_code_and_changes_nothing(msp_admin):
    register(msp_admin)
    with pytest.raises(DomainError):
        register(msp_admin, company_name="別の会社")
    assert CustomerAccount.objects.count() == 1


def test_registration_refuses_an_msp_the_user_does_not_manage(msp_admin, other_msp_org):
    with pytest.raises(DomainError):
        services.customer_register(actor=msp_admin, organization=other_msp_org, data=registration())
    assert not CustomerAccount.objects.exists()


@pytest.mark.parametrize("users", [0, -1, 1_000_001, "12", None, True])
def test_registration_refuses_contracted_users_outside_the_range(msp_admin, users):
    with pytest.raises(DomainError):
        register(msp_admin, contracted_users=users)
    assert not CustomerAccount.objects.exists()


def test_a_privileged_msp_registers_for_its_child_msp(pmsp_admin, msp_org):
    customer = services.customer_register(actor=pmsp_admin, organization=msp_org, data=registration())
    assert customer.organization == msp_org
    # The wallet is opened with the account, in the child MSP's name (the list's points scope).
    wallet = LedgerAccount.objects.get(customer=customer)
    assert (wallet.kind, wallet.msp_id) == ("wallet", msp_org.pk)
    assert (wallet.balance, wallet.estimated_balance) == (0, 0)


def test_a_refused_registration_opens_no_wallet(msp_admin):
    register(msp_admin)
    with pytest.raises(DomainError):
        register(msp_admin, company_name="別の会社")
    assert LedgerAccount.objects.filter(kind="wallet").count() == 1


def test_approval_provisions_the_account_and_tells_the_registrant_in_their_language(
    msp_admin, operator_user, django_capture_on_commit_callbacks
):
    msp_admin.language = "en"
    msp_admin.save()
    customer = register(msp_admin, company_name="<script>alert(1)</script>株式会社")
    with django_capture_on_commit_callbacks(execute=True):
        services.customer_approve(actor=operator_user, customer=customer)

    customer.refresh_from_db()
    assert customer.status == "active"
    assert customer.approved_at is not None and customer.activated_at is not None
    assert list(customer.status_changes.values_list("to_status", flat=True)) == [
        "pending_approval",
        "provisioning",
        "active",
    ]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [msp_admin.email]
    assert "is ready" in message.subject
    html = message.alternatives[0][0]
    assert "&lt;script&gt;" in html and "<script>" not in html


def test_the_simulated_backend_fails_for_listed_codes_then_the_account_shows_the_failure(
    msp_admin, operator_user, settings, django_capture_on_commit_callbacks
):
    settings.PORTAL_SIMULATED_PROVISIONING_FAIL_CODES = ["sakura-trading"]
    settings.PORTAL_PROVISIONING_MAX_RETRIES = 2
    customer = register(msp_admin)
    with django_capture_on_commit_callbacks(execute=True):
        services.customer_approve(actor=operator_user, customer=customer)

    customer.refresh_from_db()
    assert customer.status == "provisioning_failed"
    assert customer.provisioning_attempts == 3
    assert "simulated failure" in customer.provisioning_error
    assert mail.outbox == []

    settings.PORTAL_SIMULATED_PROVISIONING_FAIL_CODES = []
    with django_capture_on_commit_callbacks(execute=True):
        services.customer_provisioning_retry(actor=operator_user, customer=customer)
    customer.refresh_from_db()
    assert customer.status == "active"
    assert customer.provisioning_error == ""


class FlakyBackend(ProvisioningBackend):
    """Fails the first call for each code, then answers like an idempotent service."""

    calls: list = []

    def create_tenant(self, request):
        FlakyBackend.calls.append(request.account_code)
        if FlakyBackend.calls.count(request.account_code) == 1:
            raise ProvisioningError("timeout")
        return TenantResult(tenant_id=f"t-{request.account_code}")


def test_a_transient_failure_is_retried_and_the_account_becomes_active(
    msp_admin, operator_user, settings, django_capture_on_commit_callbacks
):
    FlakyBackend.calls = []
    settings.PORTAL_PROVISIONING_BACKEND = "customers.tests.test_customer_services.FlakyBackend"
    customer = register(msp_admin)
    with django_capture_on_commit_callbacks(execute=True):
        services.customer_approve(actor=operator_user, customer=customer)
    customer.refresh_from_db()
    assert customer.status == "active"
    assert FlakyBackend.calls == ["sakura-trading", "sakura-trading"]
    assert customer.provisioning_attempts == 2


def test_provisioning_twice_is_harmless(msp_admin, operator_user, django_capture_on_commit_callbacks):
    from customers.tasks import provision_customer

    customer = register(msp_admin)
    with django_capture_on_commit_callbacks(execute=True):
        services.customer_approve(actor=operator_user, customer=customer)
    provision_customer.delay(customer.pk)
    assert customer.status_changes.filter(to_status="active").count() == 1
    assert len(mail.outbox) == 1


def test_backoff_grows_and_is_capped():
    from customers.tasks import BACKOFF_MAX, backoff

    assert backoff(0) < backoff(1) < backoff(2)
    assert backoff(20) == BACKOFF_MAX


def test_transitions_outside_the_lifecycle_are_refused(msp_admin, operator_user):
    customer = CustomerAccountFactory(organization=msp_admin.organization, status="active")
    for action in (
        lambda: services.customer_approve(actor=operator_user, customer=customer),
        lambda: services.customer_withdraw(actor=msp_admin, customer=customer),
        lambda: services.customer_reject(actor=operator_user, customer=customer, reason="x"),
        lambda: services.customer_provisioning_retry(actor=operator_user, customer=customer),
    ):
        with pytest.raises(DomainError):
            action()
    customer.refresh_from_db()
    assert customer.status == "active"
    assert not customer.status_changes.exists()


def test_rejection_needs_a_reason_and_tells_the_registrant(
    msp_admin, operator_user, django_capture_on_commit_callbacks
):
    customer = register(msp_admin)
    with pytest.raises(DomainError):
        services.customer_reject(actor=operator_user, customer=customer, reason="   ")
    with django_capture_on_commit_callbacks(execute=True):
        services.customer_reject(actor=operator_user, customer=customer, reason="企業規模を確認してください")
    customer.refresh_from_db()
    assert customer.status == "rejected"
    assert customer.status_changes.last().reason == "企業規模を確認してください"
    assert "企業規模を確認してください" in mail.outbox[0].body
    assert "差し戻されました" in mail.outbox[0].subject


def test_a_corrected_application_returns_to_the_queue_with_a_new_due_date(msp_admin, operator_user):
    with time_machine.travel(dt.datetime(2026, 4, 1, 10, tzinfo=TOKYO), tick=False):
        customer = register(msp_admin)
        services.customer_reject(actor=operator_user, customer=customer, reason="契約ユーザ数を確認")
    with time_machine.travel(dt.datetime(2026, 4, 10, 10, tzinfo=TOKYO), tick=False):
        customer = services.customer_resubmit(
            actor=msp_admin,
            customer=customer,
            changes={"company_name": "株式会社さくら商事 本社", "contracted_users": 40},
        )
    customer.refresh_from_db()
    assert customer.status == "pending_approval"
    assert customer.company_name == "株式会社さくら商事 本社"
    assert customer.contracted_users == 40
    assert approval_due_date(customer) == dt.date(2026, 4, 15)
    assert list(customer.contract_changes.values_list("old_users", "new_users")) == [(None, 25), (25, 40)]
    assert "本社" in customer.search_text


def test_the_due_date_skips_weekends_and_national_holidays(msp_admin):
    # Tuesday 28 April 2026: 29 April (Showa Day) and 3–6 May (Golden Week) are not business days.
    with time_machine.travel(dt.datetime(2026, 4, 28, 18, tzinfo=TOKYO), tick=False):
        customer = register(msp_admin)
    assert approval_due_date(customer) == dt.date(2026, 5, 7)
    assert not approval_is_overdue(customer, today=dt.date(2026, 5, 7))
    assert approval_is_overdue(customer, today=dt.date(2026, 5, 8))


def test_only_pending_or_returned_applications_can_be_withdrawn(msp_admin):
    customer = register(msp_admin)
    services.customer_withdraw(actor=msp_admin, customer=customer, reason="不要になった")
    customer.refresh_from_db()
    assert customer.status == "withdrawn"
    with pytest.raises(DomainError):
        services.customer_withdraw(actor=msp_admin, customer=customer)


def test_contract_changes_are_kept_as_history(msp_admin):
    customer = register(msp_admin)
    services.customer_change_contract(actor=msp_admin, customer=customer, contracted_users=120)
    customer.refresh_from_db()
    assert customer.contracted_users == 120
    assert list(customer.contract_changes.values_list("old_users", "new_users")) == [(None, 25), (25, 120)]
    with pytest.raises(DomainError):
        services.customer_change_contract(actor=msp_admin, customer=customer, contracted_users=120)
    with pytest.raises(DomainError):
        services.customer_change_contract(actor=msp_admin, customer=customer, contracted_users=1_000_001)
    assert customer.contract_changes.count() == 2


def test_a_cancelled_account_cannot_be_changed(msp_admin, support_org):
    customer = CustomerAccountFactory(organization=msp_admin.organization, status="cancelled")
    with pytest.raises(DomainError):
        services.customer_change_contract(actor=msp_admin, customer=customer, contracted_users=30)
    with pytest.raises(DomainError):
        services.customer_update(actor=msp_admin, customer=customer, changes={"company_name": "新"})
    with pytest.raises(DomainError):
        services.customer_assign_support(actor=msp_admin, customer=customer, support_account=support_org)


def test_the_account_code_is_fixed_after_approval(msp_admin):
    customer = CustomerAccountFactory(organization=msp_admin.organization, status="active")
    with pytest.raises(DomainError):
        services.customer_update(actor=msp_admin, customer=customer, changes={"account_code": "new-code"})
    pending = register(msp_admin)
    services.customer_update(actor=msp_admin, customer=pending, changes={"account_code": "sakura-new"})
    pending.refresh_from_db()
    assert pending.account_code == "sakura-new"


def test_an_update_audits_only_what_changed(msp_admin):
    customer = register(msp_admin)
    services.customer_update(
        actor=msp_admin, customer=customer, changes={"company_name": "株式会社さくら商事", "phone": "03-1234-5678"}
    )
    event = AuditEvent.objects.get(action="customer.update")
    assert event.before == {"phone": ""}
    assert event.after == {"phone": "03-1234-5678"}


def test_only_terminal_accounts_are_archived_and_can_be_unarchived(msp_admin):
    active = CustomerAccountFactory(organization=msp_admin.organization, status="active")
    with pytest.raises(DomainError):
        services.customer_archive(actor=msp_admin, customer=active)
    for status in ("cancelled", "withdrawn", "rejected", "merged"):
        customer = CustomerAccountFactory(organization=msp_admin.organization, status=status)
        services.customer_archive(actor=msp_admin, customer=customer)
        customer.refresh_from_db()
        assert customer.archived_at is not None
    services.customer_unarchive(actor=msp_admin, customer=customer)
    customer.refresh_from_db()
    assert customer.archived_at is None


def test_only_the_msps_own_support_accounts_can_be_assigned(msp_admin, support_org, other_msp_org):
    customer = CustomerAccountFactory(organization=msp_admin.organization)
    foreign = OrganizationFactory(kind="support", parent=other_msp_org)
    with pytest.raises(DomainError):
        services.customer_assign_support(actor=msp_admin, customer=customer, support_account=foreign)
    services.customer_assign_support(actor=msp_admin, customer=customer, support_account=support_org)
    customer.refresh_from_db()
    assert customer.support_account == support_org
    services.customer_assign_support(actor=msp_admin, customer=customer, support_account=None)
    customer.refresh_from_db()
    assert customer.support_account is None


def test_screen_customization_keeps_known_menus_in_menu_order(msp_admin):
    customer = CustomerAccountFactory(organization=msp_admin.organization)
    with pytest.raises(DomainError):
        services.customer_customize_screen(actor=msp_admin, customer=customer, hidden_menus=["billing"])
    services.customer_customize_screen(actor=msp_admin, customer=customer, hidden_menus=["user_bulk", "admins"])
    customer.refresh_from_db()
    assert customer.hidden_menus == ["admins", "user_bulk"]


@pytest.mark.parametrize(
    "query",
    ["SAKURA", "ｓａｋｕｒａ", "さくら商事", "ｻｸﾗｼｮｳｼﾞ", "さくらしょうじ", "関西システム", "yamada@", "sakura.example"],
)
def test_search_finds_japanese_text_regardless_of_width_and_kana(msp_admin, query):
    customer = register(msp_admin)
    CustomerAccountFactory(organization=msp_admin.organization, company_name="別会社", company_name_kana="ベツガイシャ")
    found = customer_search(customers_visible_to(msp_admin), query)
    assert list(found) == [customer]


def test_contracted_users_cannot_go_below_the_active_service_users(msp_admin):
    from customer_portal.models import ServiceUser

    customer = CustomerAccountFactory(organization=msp_admin.organization, status="active", contracted_users=20)
    for n in range(12):
        ServiceUser.objects.create(customer=customer, user_name=f"u{n}", email=f"u{n}@x.example", display_name="利用者")
    ServiceUser.objects.create(
        customer=customer, user_name="gone", email="g@x.example", display_name="無効", is_active=False
    )
    with pytest.raises(DomainError, match="12"):
        services.customer_change_contract(actor=msp_admin, customer=customer, contracted_users=11)
    customer.refresh_from_db()
    assert customer.contracted_users == 20
    # Exactly the active users is fine; disabled users do not count.
    services.customer_change_contract(actor=msp_admin, customer=customer, contracted_users=12)
    customer.refresh_from_db()
    assert customer.contracted_users == 12
