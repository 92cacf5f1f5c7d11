"""Demo customer accounts for `seed_demo`: a few hundred (or `--customers N`) spread over every
MSP and every status, with Japanese company names, each with a status history and a contract
history consistent with its status. Idempotent: account codes are deterministic and existing
ones are skipped.

A handful of applications go through `customer_register` like a real registration (audited);
the bulk is inserted with `bulk_create` in chunks, because a benchmark wants a million of them.
"""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from accounts.models import Membership
from msp_portal.permissions import OrganizationKind, Role

from . import hooks
from .models import CompanySize, ContractChange, CustomerAccount, CustomerStatus, CustomerStatusChange, Industry
from .search import customer_search_text
from .services import customer_register

S = CustomerStatus
DEFAULT_CUSTOMERS = 300
CHUNK = 5000
REGISTERED_THROUGH_SERVICE = 5

# (kanji, kana, romaji)
PLACES = [
    ("東京", "トウキョウ", "tokyo"),
    ("大阪", "オオサカ", "osaka"),
    ("名古屋", "ナゴヤ", "nagoya"),
    ("札幌", "サッポロ", "sapporo"),
    ("福岡", "フクオカ", "fukuoka"),
    ("横浜", "ヨコハマ", "yokohama"),
    ("京都", "キョウト", "kyoto"),
    ("神戸", "コウベ", "kobe"),
    ("仙台", "センダイ", "sendai"),
    ("広島", "ヒロシマ", "hiroshima"),
    ("金沢", "カナザワ", "kanazawa"),
    ("熊本", "クマモト", "kumamoto"),
    ("さくら", "サクラ", "sakura"),
    ("みらい", "ミライ", "mirai"),
    ("あおば", "アオバ", "aoba"),
    ("ひかり", "ヒカリ", "hikari"),
]
TRADES = [
    ("精工", "セイコウ", "seiko", Industry.MANUFACTURING),
    ("電機", "デンキ", "denki", Industry.MANUFACTURING),
    ("物産", "ブッサン", "bussan", Industry.RETAIL),
    ("商事", "ショウジ", "shoji", Industry.RETAIL),
    ("建設", "ケンセツ", "kensetsu", Industry.CONSTRUCTION),
    ("システムズ", "システムズ", "systems", Industry.IT),
    ("ソフトウェア", "ソフトウェア", "software", Industry.IT),
    ("情報サービス", "ジョウホウサービス", "joho", Industry.IT),
    ("信用金庫", "シンヨウキンコ", "shinkin", Industry.FINANCE),
    ("メディカル", "メディカル", "medical", Industry.MEDICAL),
    ("学園", "ガクエン", "gakuen", Industry.EDUCATION),
    ("運輸", "ウンユ", "unyu", Industry.SERVICES),
    ("フーズ", "フーズ", "foods", Industry.RETAIL),
    ("不動産", "フドウサン", "fudosan", Industry.SERVICES),
]
FORMS = [("株式会社", "カブシキガイシャ"), ("有限会社", "ユウゲンガイシャ"), ("合同会社", "ゴウドウガイシャ")]
PEOPLE = ["田中 太郎", "佐藤 花子", "鈴木 健一", "高橋 由美", "渡辺 誠", "伊藤 恵", "山本 大輔", "中村 彩"]
RESELLERS = ["", "", "日本ソリューション販売株式会社", "関西システム販売株式会社", "九州ITディストリビューション"]
# Statuses with weights: most accounts are active, every state is present.
STATUS_WEIGHTS = [
    (S.ACTIVE, 68),
    (S.PENDING_APPROVAL, 8),
    (S.REJECTED, 3),
    (S.WITHDRAWN, 3),
    (S.PROVISIONING, 2),
    (S.PROVISIONING_FAILED, 2),
    (S.CANCELLED, 12),
    (S.MERGED, 2),
]
# The path to each status from registration.
PATHS = {
    S.PENDING_APPROVAL: [S.PENDING_APPROVAL],
    S.REJECTED: [S.PENDING_APPROVAL, S.REJECTED],
    S.WITHDRAWN: [S.PENDING_APPROVAL, S.WITHDRAWN],
    S.PROVISIONING: [S.PENDING_APPROVAL, S.PROVISIONING],
    S.PROVISIONING_FAILED: [S.PENDING_APPROVAL, S.PROVISIONING, S.PROVISIONING_FAILED],
    S.ACTIVE: [S.PENDING_APPROVAL, S.PROVISIONING, S.ACTIVE],
    S.CANCELLED: [S.PENDING_APPROVAL, S.PROVISIONING, S.ACTIVE, S.CANCELLED],
    S.MERGED: [S.PENDING_APPROVAL, S.PROVISIONING, S.ACTIVE, S.MERGED],
}
REASONS = {
    S.REJECTED: "契約ユーザ数と企業規模の記載内容をご確認のうえ、再申請してください。",
    S.WITHDRAWN: "お客様の都合により申請を取り下げます。",
    S.PROVISIONING_FAILED: "simulated failure: tenant service timed out",
    S.CANCELLED: "お客様からの解約依頼による。",
    S.MERGED: "同一ドメインの顧客アカウントへ統合。",
}


def _specs(count: int, rng: random.Random, now: dt.datetime):
    """Deterministic demo account descriptions, one per index."""
    statuses, weights = zip(*STATUS_WEIGHTS, strict=True)
    for index in range(1, count + 1):
        place = PLACES[index % len(PLACES)]
        trade = TRADES[(index // len(PLACES)) % len(TRADES)]
        form_kanji, form_kana = FORMS[index % len(FORMS)]
        prefix = index % 4 == 0
        company = f"{form_kanji}{place[0]}{trade[0]}" if prefix else f"{place[0]}{trade[0]}{form_kanji}"
        kana = f"{form_kana}{place[1]}{trade[1]}" if prefix else f"{place[1]}{trade[1]}{form_kana}"
        code = f"{place[2]}-{trade[2]}-{index:05d}"
        status = rng.choices(statuses, weights)[0]
        registered = now - dt.timedelta(days=rng.randint(40, 720), minutes=rng.randint(0, 1440))
        if status in (S.PENDING_APPROVAL, S.PROVISIONING, S.PROVISIONING_FAILED, S.REJECTED):
            # Applications in flight are recent, some past their 3-business-day due date.
            registered = now - dt.timedelta(days=rng.randint(0, 9), minutes=rng.randint(0, 1440))
        person = PEOPLE[index % len(PEOPLE)]
        yield {
            "index": index,
            "account_code": code,
            "company_name": company,
            "company_name_kana": kana,
            "email_domain": f"{place[2]}-{trade[2]}{index}.example.jp",
            "address": f"{place[0]}市中央{index % 9 + 1}-{index % 20 + 1}",
            "industry": trade[3],
            "company_size": rng.choice(CompanySize.values),
            "contact_name": person,
            "contact_email": f"it-admin@{place[2]}-{trade[2]}{index}.example.jp",
            "phone": f"03-{1000 + index % 9000:04d}-{index % 10000:04d}",
            "contracted_users": rng.choice([10, 15, 20, 30, 50, 80, 120, 300, 1000, 2500]),
            "reseller_name": RESELLERS[index % len(RESELLERS)],
            "status": status,
            "registered_at": registered,
        }


def seed(*, command, organizations, options) -> None:
    count = options.get("customers")
    count = DEFAULT_CUSTOMERS if count is None else count
    if count <= 0:
        return
    now = timezone.now()
    rng = random.Random(20260401)  # noqa: S311 - demo data, reproducible on purpose
    msps = [organizations[key] for key in ("pmsp", "msp", "other") if key in organizations]
    operator_admin = (
        Membership.objects.filter(organization=organizations["operator"], role=Role.OPERATOR_ADMIN)
        .select_related("user")
        .first()
    )
    operator_user = operator_admin.user if operator_admin else None
    registrants = {}
    for msp in msps:
        membership = Membership.objects.filter(organization=msp, role=Role.ADMIN).select_related("user").first()
        registrants[msp.pk] = membership.user if membership else None
    supports = {msp.pk: list(msp.children.filter(kind=OrganizationKind.SUPPORT, is_active=True)) for msp in msps}
    created = 0
    batch = []
    for spec in _specs(count, rng, now):
        spec["organization"] = msps[spec["index"] % len(msps)]
        batch.append(spec)
        if len(batch) >= CHUNK:
            created += _create_chunk(batch, rng, now, registrants, operator_user, supports)
            batch = []
    if batch:
        created += _create_chunk(batch, rng, now, registrants, operator_user, supports)
    command.stdout.write(f"Customer accounts: {created} created ({count} wanted).")


def _create_chunk(batch, rng, now, registrants, operator_user, supports) -> int:
    existing = set(
        CustomerAccount.objects.filter(account_code__in=[spec["account_code"] for spec in batch]).values_list(
            "account_code", flat=True
        )
    )
    batch = [spec for spec in batch if spec["account_code"] not in existing]
    if not batch:
        return 0
    through_service = [spec for spec in batch if spec["status"] == S.PENDING_APPROVAL and spec["index"] <= CHUNK][
        :REGISTERED_THROUGH_SERVICE
    ]
    for spec in through_service:
        registrant = registrants[spec["organization"].pk]
        if registrant is None:
            continue
        data = {
            name: spec[name]
            for name in (
                "account_code",
                "company_name",
                "company_name_kana",
                "email_domain",
                "address",
                "industry",
                "company_size",
                "contact_name",
                "contact_email",
                "phone",
                "contracted_users",
                "reseller_name",
            )
        }
        customer_register(actor=registrant, organization=spec["organization"], data=data)
    done = {spec["account_code"] for spec in through_service}
    batch = [spec for spec in batch if spec["account_code"] not in done]

    accounts = []
    for spec in batch:
        organization = spec["organization"]
        status = spec["status"]
        registered = spec["registered_at"]
        customer = CustomerAccount(
            organization=organization,
            registered_by=registrants[organization.pk],
            registered_at=registered,
            submitted_at=registered,
            status=status,
            **{
                key: value
                for key, value in spec.items()
                if key not in ("index", "organization", "status", "registered_at")
            },
        )
        path = PATHS[status]
        if S.PROVISIONING in path:
            customer.approved_at = registered + dt.timedelta(days=1)
        if S.ACTIVE in path:
            customer.activated_at = registered + dt.timedelta(days=1, hours=1)
            customer.provisioning_attempts = 1
        if status == S.PROVISIONING_FAILED:
            customer.provisioning_attempts = 6
            customer.provisioning_error = REASONS[S.PROVISIONING_FAILED]
        if status == S.CANCELLED:
            customer.cancelled_at = min(now, registered + dt.timedelta(days=rng.randint(30, 400)))
        if status in (S.CANCELLED, S.WITHDRAWN, S.MERGED) and rng.random() < 0.3:
            customer.archived_at = now - dt.timedelta(days=rng.randint(1, 30))
        if status == S.ACTIVE and rng.random() < 0.06:
            customer.cancellation_date = (now + dt.timedelta(days=rng.randint(3, 120))).date()
        options = supports.get(organization.pk) or []
        if options and status not in (S.WITHDRAWN, S.REJECTED) and rng.random() < 0.35:
            customer.support_account = rng.choice(options)
        if rng.random() < 0.1:
            customer.hidden_menus = ["user_bulk"]
        customer.search_text = customer_search_text(customer)
        accounts.append(customer)
    with transaction.atomic():
        CustomerAccount.objects.bulk_create(accounts, batch_size=1000)
        hooks.wallets_open(accounts)
        changes = []
        contracts = []
        for customer in accounts:
            path = PATHS[customer.status]
            previous = ""
            moment = customer.registered_at
            for step in path:
                actor = None
                if step == S.PENDING_APPROVAL:
                    actor = customer.registered_by
                elif step in (S.PROVISIONING, S.REJECTED):
                    actor = operator_user
                elif step in (S.WITHDRAWN, S.CANCELLED, S.MERGED):
                    actor = customer.registered_by
                if step == S.PROVISIONING and customer.approved_at:
                    moment = customer.approved_at
                elif step == S.ACTIVE and customer.activated_at:
                    moment = customer.activated_at
                elif step == S.CANCELLED and customer.cancelled_at:
                    moment = customer.cancelled_at
                else:
                    moment = moment + dt.timedelta(hours=2)
                changes.append(
                    CustomerStatusChange(
                        customer=customer,
                        from_status=previous,
                        to_status=step,
                        actor=actor,
                        reason=REASONS.get(step, ""),
                        created_at=moment,
                    )
                )
                previous = step
            first_users = customer.contracted_users
            if customer.status in (S.ACTIVE, S.CANCELLED) and rng.random() < 0.25:
                # An earlier count, raised once after activation.
                first_users = max(1, customer.contracted_users - rng.choice([5, 10, 20]))
            contracts.append(
                ContractChange(
                    customer=customer,
                    old_users=None,
                    new_users=first_users,
                    effective_at=customer.registered_at,
                    actor=customer.registered_by,
                    created_at=customer.registered_at,
                )
            )
            if first_users != customer.contracted_users:
                moment = (customer.activated_at or customer.registered_at) + dt.timedelta(days=20)
                contracts.append(
                    ContractChange(
                        customer=customer,
                        old_users=first_users,
                        new_users=customer.contracted_users,
                        effective_at=moment,
                        actor=customer.registered_by,
                        created_at=moment,
                    )
                )
        CustomerStatusChange.objects.bulk_create(changes, batch_size=2000)
        ContractChange.objects.bulk_create(contracts, batch_size=2000)
    return len(accounts) + len(done)
