"""The audit trail as people read it (audit.presenters): actors, field labels and every kind of
value, in Japanese and English; the detail page and the CSV that show it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.urls import reverse
from django.utils import translation

from audit import presenters
from audit.actions import ACTION_LABELS
from audit.models import AuditEvent
from audit.presenters import EventPresenter, actor_of, format_value, present
from audit.services import audit_record
from customers.lifecycle import CustomerStatus
from customers.tests.factories import CustomerAccountFactory
from msp_portal import context
from points.selectors import ChargeEntry


def _changes(event, language="ja"):
    with translation.override(language):
        return [str(change) for change in EventPresenter().changes(event)]


# --- Actors -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_staff_member_reads_as_their_name_and_e_mail(msp_admin):
    event = audit_record(actor=msp_admin, action="staff.change_role", obj=msp_admin)
    actor = actor_of(AuditEvent.objects.select_related("actor").get(pk=event.pk))
    assert (actor.label, actor.email) == (msp_admin.name, msp_admin.email)
    assert str(actor) == f"{msp_admin.name} <{msp_admin.email}>"


@pytest.mark.django_db
def test_a_staff_member_without_a_name_reads_as_their_e_mail_once(msp_admin):
    msp_admin.name = ""
    assert str(actor_of(AuditEvent(actor=msp_admin, actor_label=msp_admin.email))) == msp_admin.email


@pytest.mark.parametrize(
    ("channel", "ja", "en"),
    [
        ("job", "システム（月次処理）", "System (scheduled job)"),
        ("command", "運用コマンド", "Operations command"),
        ("migration", "システム（データ移行）", "System (data migration)"),
        ("web", "システム", "System"),  # an anonymous request
        ("", "システム", "System"),
    ],
)
def test_what_acted_for_nobody_reads_by_its_channel(channel, ja, en):
    event = AuditEvent(actor=None, actor_label=channel, channel=channel)
    with translation.override("ja"):
        assert str(actor_of(event)) == ja
    with translation.override("en"):
        assert str(actor_of(event)) == en


def test_a_monthly_charge_entry_reads_as_the_scheduled_job():
    entry = ChargeEntry(created_at=dt.datetime(2026, 11, 25, tzinfo=dt.UTC), before={}, after={}, job_run_id=1)
    with translation.override("ja"):
        assert str(actor_of(entry)) == "システム（月次処理）"


def test_a_registered_resolver_names_the_actor_first(monkeypatch):
    # Room for an API key's name: a resolver registered by the app that knows the key.
    monkeypatch.setattr(presenters, "_ACTOR_RESOLVERS", [])
    presenters.register_actor(lambda event: "API key: billing-sync" if event.channel == "api" else None)
    assert str(actor_of(AuditEvent(channel="api"))) == "API key: billing-sync"
    with translation.override("en"):
        assert str(actor_of(AuditEvent(channel="job"))) == "System (scheduled job)"


# --- Values by kind -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", [], {}])
def test_none_and_empty_read_as_a_dash(value):
    assert format_value(value) == "—"


def test_booleans_read_as_yes_and_no():
    with translation.override("ja"):
        assert (format_value(True), format_value(False)) == ("はい", "いいえ")
    with translation.override("en"):
        assert (format_value(True), format_value(False)) == ("Yes", "No")


def test_numbers_have_thousands_separators():
    assert format_value(1234567) == "1,234,567"
    assert format_value(-1500) == "-1,500"
    assert format_value(0) == "0"


def test_dates_and_datetimes_read_in_the_locale_and_in_tokyo():
    with translation.override("ja"):
        assert format_value("2026-12-31") == "2026/12/31"
        assert format_value("2026-11-24T15:30:00Z") == "2026/11/25 0:30"  # 00:30 in Tokyo
        assert format_value(dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)) == "2026/11/25 0:30"
        assert format_value(dt.date(2026, 1, 5)) == "2026/01/05"
    with translation.override("en"):
        assert format_value("2026-12-31") == "12/31/2026"
        assert format_value("2026-11-24T15:30:00.123456+00:00") == "11/25/2026 12:30 a.m."


def test_a_dict_and_a_list_read_as_their_items_never_as_python():
    assert format_value({"2026-10": 12, "2026-11": 1200}) == "2026-10: 12, 2026-11: 1,200"
    assert format_value([1, None, "x"]) == "1, —, x"


# --- Fields: labels and values ------------------------------------------------------------------


def test_a_customer_accounts_status_reads_by_its_label_under_its_old_and_new_object_type():
    for object_type in ("customers.CustomerAccount", "accounts.CustomerAccount"):
        event = AuditEvent(
            object_type=object_type,
            before={"status": CustomerStatus.PROVISIONING},
            after={"status": CustomerStatus.ACTIVE},
        )
        assert _changes(event) == ["ステータス: プロビジョニング中 → 利用中"]
        assert _changes(event, "en") == ["Status: Provisioning → Active"]


def test_a_status_on_a_transfers_event_reads_by_its_label_too():
    event = AuditEvent(object_type="points.Transfer", after={"status": CustomerStatus.WITHDRAWN, "amount": 1200})
    assert _changes(event) == ["ステータス: — → 取下げ", "ポイント: — → 1,200"]


def test_hidden_menus_read_as_the_menus_names():
    event = AuditEvent(
        object_type="customers.CustomerAccount",
        before={"hidden_menus": []},
        after={"hidden_menus": ["admins", "users"]},
    )
    assert _changes(event) == ["非表示メニュー: — → 管理者, ユーザ"]


def test_model_fields_read_by_their_verbose_name_and_kind():
    event = AuditEvent(
        object_type="customers.CustomerAccount",
        before={"contracted_users": 20, "cancellation_date": None, "archived_at": "2026-11-24T15:30:00Z"},
        after={"contracted_users": 1500, "cancellation_date": "2026-12-31", "archived_at": None},
    )
    assert _changes(event, "en") == [
        "Contracted users: 20 → 1,500",
        "Cancellation date: — → 12/31/2026",
        "Archived at: 11/25/2026 12:30 a.m. → —",
    ]


@pytest.mark.django_db
def test_a_foreign_key_reads_as_the_related_object_looked_up_once(msp_org, support_org, django_assert_num_queries):
    event = AuditEvent(
        object_type="customers.CustomerAccount",
        before={"support_account": None},
        after={"support_account": support_org.pk},
    )
    presenter = EventPresenter()
    with django_assert_num_queries(1):
        assert [str(c) for c in presenter.changes(event)] == [f"サポートアカウント: — → {support_org.name}"]
        presenter.changes(event)


def test_keys_outside_any_model_read_by_the_known_table():
    entry = ChargeEntry(
        created_at=dt.datetime(2026, 11, 25, tzinfo=dt.UTC),
        before={"points_balance": 100},
        after={"points_balance": -88, "period": "2026-11", "points": 188, "job_run": 7},
        job_run_id=7,
    )
    assert _changes(entry) == [
        "ポイント残高: 100 → -88",
        "対象月: — → 2026-11",
        "ポイント: — → 188",
        "ジョブ実行: — → #7",
    ]
    settlement = AuditEvent(
        object_type="customers.CustomerAccount",
        before={"points_balance": -40},
        after={"points_balance": 0, "settlement_topup": 40, "charged_before_settlement": {"2026-11": 12}},
    )
    assert _changes(settlement, "en") == [
        "Points balance: -40 → 0",
        "Settlement top-up: — → 40",
        "Charged before settlement: — → 2026-11: 12",
    ]


def test_a_role_and_an_organizations_kind_read_by_their_labels():
    assert _changes(AuditEvent(object_type="accounts.User", before={"role": "sales"}, after={"role": "admin"})) == [
        "ロール: 営業 → 管理者"
    ]
    event = AuditEvent(object_type="accounts.Organization", after={"kind": "msp", "parent": None})
    assert _changes(event) == ["種別: — → MSP", "親組織: — → —"]


def test_a_key_nobody_named_reads_as_written_with_its_value_formatted():
    assert _changes(AuditEvent(object_type="gone.Model", after={"legacy_total": 12345})) == ["legacy_total: — → 12,345"]


def test_an_event_without_snapshots_has_no_changes():
    assert EventPresenter().changes(AuditEvent(before=None, after=None)) == []


@pytest.mark.parametrize("action", sorted(ACTION_LABELS))
def test_every_action_reads_by_its_label(action):
    with translation.override("ja"):
        (shown,) = present([AuditEvent(action=action, channel="job")])
        assert shown.action_label == str(ACTION_LABELS[action]) != action


# --- Where the trail is shown -------------------------------------------------------------------


def _customer_with_history(msp_admin, msp_org, support_org):
    from customers.services import customer_assign_support, customer_change_contract, customer_customize_screen

    customer = CustomerAccountFactory(organization=msp_org, status=CustomerStatus.ACTIVE, contracted_users=20)
    with context.acting(ip="192.0.2.1", channel="web"):
        customer_change_contract(actor=msp_admin, customer=customer, contracted_users=1500)
        customer_assign_support(actor=msp_admin, customer=customer, support_account=support_org)
        customer_customize_screen(actor=msp_admin, customer=customer, hidden_menus=["admins"])
    with context.acting(channel="job"):
        audit_record(
            actor=None,
            action="customer.provisioning_succeeded",
            obj=customer,
            organization=msp_org,
            before={"status": CustomerStatus.PROVISIONING},
            after={"status": CustomerStatus.ACTIVE},
        )
    return customer


def test_the_detail_pages_trail_reads_as_people_do(client_for, msp_admin, msp_org, support_org):
    customer = _customer_with_history(msp_admin, msp_org, support_org)
    page = client_for(msp_admin).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    trail = page[page.index('data-testid="audit-trail"') :].split("</table>")[0]
    assert "プロビジョニング完了" in trail and "システム（月次処理）" in trail
    assert "<strong>ステータス</strong>: プロビジョニング中 → 利用中" in trail
    assert "1,500" in trail and support_org.name in trail and "管理者" in trail
    assert msp_admin.name in trail and msp_admin.email in trail
    assert "None" not in trail and "{" not in trail and "&#x27;" not in trail


def test_the_contract_history_shows_a_dash_before_the_first_contract(client_for, msp_admin, msp_org, support_org):
    from customers.models import ContractChange

    customer = _customer_with_history(msp_admin, msp_org, support_org)
    ContractChange.objects.create(customer=customer, old_users=None, new_users=20)
    page = client_for(msp_admin).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    history = page[page.index('data-testid="contract-history"') :].split("</table>")[0]
    assert '<td class="num">—</td><td class="num">20</td>' in history
    assert '<td class="num">20</td><td class="num">1,500</td>' in history
    assert "None" not in history


def test_the_audit_page_shows_the_label_and_the_code_it_filters_by(client_for, msp_admin, msp_org, support_org):
    _customer_with_history(msp_admin, msp_org, support_org)
    page = client_for(msp_admin).get(reverse("audit_event_list")).content.decode()
    assert "契約ユーザ数の変更" in page and "customer.contract_change" in page
    assert "<strong>契約ユーザ数</strong>: 20 → 1,500" in page
    assert "システム（月次処理）" in page


def test_the_csv_has_the_readable_and_the_machine_readable_columns(client_for, msp_admin, msp_org, support_org):
    _customer_with_history(msp_admin, msp_org, support_org)
    response = client_for(msp_admin).get(reverse("audit_event_export"), {"action": "customer.contract_change"})
    header, row = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    cells = dict(zip(header, row, strict=True))
    assert cells["操作"] == "契約ユーザ数の変更" and cells["操作コード"] == "customer.contract_change"
    assert cells["実行者"] == f"{msp_admin.name} <{msp_admin.email}>"
    assert cells["実行者ID"] == str(msp_admin.pk) and cells["実行者のメールアドレス"] == msp_admin.email
    assert cells["変更内容"] == "契約ユーザ数: 20 → 1,500"
    assert json.loads(cells["変更前（JSON）"]) == {"contracted_users": 20}
    assert json.loads(cells["変更後（JSON）"]) == {"contracted_users": 1500}


def test_the_csv_reads_in_the_requests_language(client_for, msp_admin, msp_org, support_org):
    _customer_with_history(msp_admin, msp_org, support_org)
    client = client_for(msp_admin)
    client.cookies["portal_language"] = "en"
    response = client.get(reverse("audit_event_export"), {"action": "customer.provisioning"})
    header, row = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    cells = dict(zip(header, row, strict=True))
    assert cells["Action"] == "Provisioning completed"
    assert cells["Actor"] == "System (scheduled job)" and cells["Actor id"] == ""
    assert cells["Changes"] == "Status: Provisioning → Active"
