"""Demo data for the customer admin portal: admins and users for the MSP's active customers, and
the demo customer admin login customer-admin@example.com (idempotent)."""

from __future__ import annotations

from django.utils import timezone

from accounts.models import User
from customers.models import ContractChange, CustomerAccount, CustomerStatus, CustomerStatusChange
from customers.search import customer_search_text
from points import ledger

from .models import CustomerAdmin, ServiceUser
from .services import customer_admin_register, service_user_add

DEMO_ADMIN_EMAIL = "customer-admin@example.com"
DEMO_USERS = [
    # user name, display name, department
    ("yamada.taro", "山田 太郎", "営業部"),
    ("sato.hanako", "佐藤 花子", "総務部"),
    ("suzuki.ichiro", "鈴木 一郎", "情報システム部"),
    ("takahashi.ken", "高橋 健", "営業部"),
    ("tanaka.misaki", "田中 美咲", "経理部"),
    ("ito.naoki", "伊藤 直樹", "開発部"),
    ("watanabe.yuko", "渡辺 裕子", "人事部"),
    ("nakamura.sho", "中村 翔", "開発部"),
]


def _demo_customer(organization, actor: User) -> CustomerAccount:
    """An active customer of the MSP: the first one the customers demo made, else 株式会社デモ商事."""
    existing = (
        CustomerAccount.objects.filter(organization=organization, status=CustomerStatus.ACTIVE).order_by("id").first()
    )
    if existing is not None:
        return existing
    # The accounts app's lifecycle services live on their own branch; until they are merged the
    # demo account is written directly, with the history rows its lifecycle would have left.
    now = timezone.now()
    customer = CustomerAccount(
        organization=organization,
        account_code="demo-shoji",
        company_name="株式会社デモ商事",
        company_name_kana="カブシキガイシャデモショウジ",
        email_domain="demo-shoji.example.jp",
        address="大阪府大阪市北区",
        industry="retail",
        company_size="50-299",
        contact_name="山田 太郎",
        contact_email="yamada@demo-shoji.example.jp",
        phone="06-0000-0000",
        contracted_users=30,
        reseller_name="大阪ITサービス株式会社",
        reseller_contact_name="高橋 健太",
        reseller_contact_email="msp-sales@example.com",
        status=CustomerStatus.ACTIVE,
        registered_by=actor,
        approved_at=now,
        activated_at=now,
    )
    customer.search_text = customer_search_text(customer)
    customer.save()
    ledger.open_wallet(customer)
    CustomerStatusChange.objects.create(customer=customer, from_status="", to_status=CustomerStatus.ACTIVE, actor=actor)
    ContractChange.objects.create(customer=customer, old_users=None, new_users=customer.contracted_users, actor=actor)
    return customer


def seed(*, command, organizations, options) -> None:
    from accounts.management.commands.seed_demo import DEMO_PASSWORD

    actor = User.objects.filter(email="msp-admin@example.com").first()
    if actor is None:
        return
    customer = _demo_customer(organizations["msp"], actor)
    if not User.objects.filter(email=DEMO_ADMIN_EMAIL).exists():
        admin = customer_admin_register(actor=actor, customer=customer, email=DEMO_ADMIN_EMAIL, name="デモ 顧客管理者")
        admin.user.set_password(DEMO_PASSWORD)
        admin.user.save(update_fields=["password"])
    customers = CustomerAccount.objects.filter(organization=organizations["msp"], status=CustomerStatus.ACTIVE)
    for other in customers.order_by("id")[:5]:
        if not CustomerAdmin.objects.filter(customer=other).exists():
            email = f"admin@{other.email_domain}"
            if not User.objects.filter(email__iexact=email).exists():
                customer_admin_register(actor=actor, customer=other, email=email, name="管理者")
        free = other.contracted_users - ServiceUser.objects.filter(customer=other, is_active=True).count()
        for user_name, display_name, department in DEMO_USERS[: max(0, free)]:
            if not ServiceUser.objects.filter(customer=other, user_name=user_name).exists():
                service_user_add(
                    actor=actor,
                    customer=other,
                    user_name=user_name,
                    email=f"{user_name}@{other.email_domain}",
                    display_name=display_name,
                    department=department,
                )
    command.stdout.write(f"  {DEMO_ADMIN_EMAIL:<32} customer admin of {customer.company_name}")
