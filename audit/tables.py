"""The audit trail table."""

from __future__ import annotations

import django_tables2 as tables
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from msp_portal.tables import PortalTable

from .actions import action_label
from .models import AuditEvent
from .presenters import EventPresenter, actor_of


class AuditEventTable(PortalTable):
    created_at = tables.DateTimeColumn(verbose_name=_("Time"), format="Y-m-d H:i:s", orderable=False)
    actor_label = tables.Column(verbose_name=_("Actor"), empty_values=(), orderable=False)
    organization = tables.Column(verbose_name=_("Organization"), accessor="organization__name", orderable=False)
    action = tables.Column(verbose_name=_("Action"), orderable=False)
    object_repr = tables.Column(verbose_name=_("Object"), orderable=False)
    customer = tables.Column(verbose_name=_("Customer"), accessor="customer__account_code", orderable=False)
    changes = tables.Column(verbose_name=_("Changes"), empty_values=(), orderable=False)
    ip = tables.Column(verbose_name=_("IP address"), orderable=False)
    channel = tables.Column(verbose_name=_("Channel"), orderable=False)

    region_label = _("Audit trail")

    class Meta(PortalTable.Meta):
        model = AuditEvent
        fields = ()
        empty_text = _("No events match.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.presenter = EventPresenter()

    def render_actor_label(self, record):
        actor = actor_of(record)
        if actor.email and actor.email != actor.label:
            return format_html('{}<br><span class="text-muted small">{}</span>', actor.label, actor.email)
        return actor.label

    def render_action(self, value):
        # The code stays visible: the filter above matches it by prefix.
        label = action_label(value)
        if label == value:
            return format_html("<code>{}</code>", value)
        return format_html('{}<br><code class="small text-muted">{}</code>', label, value)

    def render_changes(self, record):
        return render_to_string("audit/partials/changes.html", {"changes": self.presenter.changes(record)})
