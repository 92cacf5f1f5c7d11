"""Tables of point history (django-tables2, on the portal's base table)."""

from __future__ import annotations

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from msp_portal.numbers import NONE, number_html
from msp_portal.tables import PortalTable

from .models import ConsumptionRule, PurchaseRequest, Transfer


def _signed(value) -> str:
    return number_html(value, signed=True)


def _balance(value) -> str:
    return NONE if value is None else number_html(value)


class StatementTable(PortalTable):
    """One pool's or wallet's transfers, with this account's signed amount and balance after."""

    created_at = tables.DateTimeColumn(verbose_name=_("Time"), format="Y-m-d H:i", orderable=False)
    kind = tables.Column(verbose_name=_("Kind"), orderable=False)
    delta = tables.Column(
        verbose_name=_("Points"), orderable=False, attrs={"td": {"class": "num"}, "th": {"class": "num"}}
    )
    balance_after = tables.Column(
        verbose_name=_("Balance after"), orderable=False, attrs={"td": {"class": "num"}, "th": {"class": "num"}}
    )
    detail = tables.Column(verbose_name=_("Details"), empty_values=(), orderable=False)
    actor = tables.Column(verbose_name=_("By"), orderable=False, default="—")
    actions = tables.TemplateColumn(
        verbose_name="", template_name="points/partials/transfer_actions.html", orderable=False, empty_values=()
    )

    region_label = _("Points history")

    class Meta(PortalTable.Meta):
        model = Transfer
        fields = ("created_at", "kind", "delta", "balance_after", "detail", "actor", "actions")
        row_attrs = {"data-transfer": lambda record: record.pk}

    def render_delta(self, value):
        return _signed(value)

    def render_balance_after(self, value):
        return _balance(value)

    def render_actor(self, record):
        return record.actor.email if record.actor else "—"

    def render_detail(self, record):
        parts = []
        if record.customer_id and self.show_customer:
            parts.append(f"{record.customer.company_name} ({record.customer.account_code})")
        # Labels outside f-strings: makemessages cannot read a msgid inside one, and an unextracted
        # short msgid falls through to Django's catalogue ("Order" is its "sort order").
        if record.order_reference:
            parts.append("{}: {}".format(_("Order reference"), record.order_reference))
        if record.period:
            parts.append("{}: {}".format(_("Charged month"), record.period))
        if record.memo and record.memo != "replenish":
            parts.append(record.memo)
        if record.memo == "replenish":
            parts.append(str(_("Replenished needed points")))
        if record.reverses_id:
            parts.append(_("Reverses transfer #%(transfer)s") % {"transfer": record.reverses_id})
        return " / ".join(parts) or "—"

    def __init__(self, *args, show_customer: bool = True, can_reverse: bool = False, **kwargs):
        self.show_customer = show_customer
        super().__init__(*args, exclude=() if can_reverse else ("actions",), **kwargs)


class RuleTable(PortalTable):
    effective_from = tables.DateColumn(verbose_name=_("Effective from"), format="Y-m-d", orderable=False)
    base_points = tables.Column(verbose_name=_("Base points"), orderable=False, attrs={"td": {"class": "num"}})
    included_users = tables.Column(
        verbose_name=_("Users included in the base"), orderable=False, attrs={"td": {"class": "num"}}
    )
    points_per_extra_user = tables.Column(
        verbose_name=_("Points per additional user"), orderable=False, attrs={"td": {"class": "num"}}
    )
    memo = tables.Column(verbose_name=_("Memo"), orderable=False)
    state = tables.TemplateColumn(
        verbose_name=_("State"), template_name="points/partials/rule_state.html", orderable=False, empty_values=()
    )

    region_label = _("Consumption rules")

    class Meta(PortalTable.Meta):
        model = ConsumptionRule
        fields = ("effective_from", "base_points", "included_users", "points_per_extra_user", "memo")
        sequence = ("effective_from", "base_points", "included_users", "points_per_extra_user", "memo", "state")


class PurchaseRequestTable(PortalTable):
    """ポイント購入申請: the operator's queue (open requests first) and an MSP's own requests."""

    requested_at = tables.DateTimeColumn(verbose_name=_("Requested at"), format="Y-m-d H:i", orderable=False)
    organization = tables.Column(verbose_name=_("MSP"), orderable=False)
    amount = tables.Column(
        verbose_name=_("Points"), orderable=False, attrs={"td": {"class": "num"}, "th": {"class": "num"}}
    )
    order_reference = tables.Column(verbose_name=_("Order reference"), orderable=False)
    note = tables.Column(verbose_name=_("Note"), orderable=False, empty_values=())
    requested_by = tables.Column(verbose_name=_("Requested by"), orderable=False, empty_values=())
    status = tables.TemplateColumn(
        verbose_name=_("Status"),
        template_name="points/partials/purchase_request_status.html",
        orderable=False,
        empty_values=(),
    )
    actions = tables.TemplateColumn(
        verbose_name="",
        template_name="points/partials/purchase_request_actions.html",
        orderable=False,
        empty_values=(),
    )

    region_label = _("Points purchase requests")

    class Meta(PortalTable.Meta):
        model = PurchaseRequest
        fields = ("requested_at", "organization", "amount", "order_reference", "note", "requested_by", "status")
        sequence = (
            "requested_at",
            "organization",
            "amount",
            "order_reference",
            "note",
            "requested_by",
            "status",
            "actions",
        )
        row_attrs = {"data-purchase-request": lambda record: record.pk}

    def render_amount(self, value):
        return number_html(value)

    def render_note(self, value):
        return value or NONE

    def render_requested_by(self, record):
        user = record.requested_by
        return (user.name or user.email) if user else NONE

    def __init__(self, *args, can_decide: bool = False, **kwargs):
        super().__init__(*args, exclude=() if can_decide else ("actions",), **kwargs)
