"""The audit trail table."""

from __future__ import annotations

import json

import django_tables2 as tables
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from msp_portal.tables import PortalTable

from .models import AuditEvent


def _short(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:79] + "…"


def change_lines(before, after) -> list[tuple[str, str, str]]:
    """(field, old, new) for every field in the before/after snapshots."""
    before = before or {}
    after = after or {}
    fields = list(dict.fromkeys([*before.keys(), *after.keys()]))
    return [(field, _short(before.get(field, "")), _short(after.get(field, ""))) for field in fields]


class AuditEventTable(PortalTable):
    created_at = tables.DateTimeColumn(verbose_name=_("Time"), format="Y-m-d H:i:s", orderable=False)
    actor_label = tables.Column(verbose_name=_("Actor"), orderable=False)
    organization = tables.Column(verbose_name=_("Organization"), accessor="organization__name", orderable=False)
    action = tables.Column(verbose_name=_("Action"), orderable=False)
    object_repr = tables.Column(verbose_name=_("Object"), orderable=False)
    customer = tables.Column(verbose_name=_("Customer"), accessor="customer__account_code", orderable=False)
    changes = tables.Column(verbose_name=_("Changes"), empty_values=(), orderable=False)
    ip = tables.Column(verbose_name=_("IP address"), orderable=False)
    channel = tables.Column(verbose_name=_("Channel"), orderable=False)

    class Meta(PortalTable.Meta):
        model = AuditEvent
        fields = ()
        empty_text = _("No events match.")

    def render_action(self, value):
        return format_html("<code>{}</code>", value)

    def render_changes(self, record):
        lines = change_lines(record.before, record.after)
        if not lines:
            return ""
        return format_html(
            '<ul class="list-unstyled small mb-0">{}</ul>',
            format_html_join("", "<li><strong>{}</strong>: {} → {}</li>", lines),
        )
