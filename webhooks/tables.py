import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from msp_portal.tables import PortalTable

from .models import Attempt, Delivery, Endpoint


class EndpointTable(PortalTable):
    url = tables.TemplateColumn(template_name="webhooks/partials/endpoint_link.html", verbose_name=_("URL"))
    description = tables.Column(verbose_name=_("Description"))
    organization = tables.Column(accessor="organization__name", verbose_name=_("organization"))
    event_types = tables.Column(verbose_name=_("Event types"), orderable=False)
    enabled = tables.TemplateColumn(
        template_name="webhooks/partials/endpoint_state.html", verbose_name=_("state"), order_by=("enabled",)
    )
    last_delivery_at = tables.DateTimeColumn(verbose_name=_("Last event"), format="Y-m-d H:i")

    region_label = _("Webhooks")

    class Meta(PortalTable.Meta):
        model = Endpoint
        fields = ("url", "description", "organization", "event_types", "enabled", "last_delivery_at")
        order_by = ("url",)

    def __init__(self, *args, show_organization: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not show_organization:
            self.columns.hide("organization")

    def render_event_types(self, value):
        return ", ".join(value)


class DeliveryTable(PortalTable):
    created_at = tables.TemplateColumn(
        template_name="webhooks/partials/delivery_link.html", verbose_name=_("time"), orderable=False
    )
    event_type = tables.Column(accessor="message__event_type", verbose_name=_("event type"), orderable=False)
    event_id = tables.Column(accessor="message__event_id", verbose_name=_("event id"), orderable=False)
    state = tables.TemplateColumn(
        template_name="webhooks/partials/delivery_state.html", verbose_name=_("state"), orderable=False
    )
    attempt_count = tables.Column(verbose_name=_("attempts"), orderable=False)
    next_attempt_at = tables.DateTimeColumn(verbose_name=_("next attempt"), format="Y-m-d H:i:s", orderable=False)

    region_label = _("Deliveries")

    class Meta(PortalTable.Meta):
        model = Delivery
        fields = ("created_at", "event_type", "event_id", "state", "attempt_count", "next_attempt_at")


class AttemptTable(PortalTable):
    attempted_at = tables.DateTimeColumn(verbose_name=_("time"), format="Y-m-d H:i:s", orderable=False)
    status_code = tables.TemplateColumn(
        template_name="webhooks/partials/attempt_result.html", verbose_name=_("result"), orderable=False
    )
    duration_ms = tables.Column(verbose_name=_("duration (ms)"), orderable=False)
    response_excerpt = tables.TemplateColumn(
        template_name="webhooks/partials/attempt_response.html", verbose_name=_("response"), orderable=False
    )

    region_label = _("Attempts")

    class Meta(PortalTable.Meta):
        model = Attempt
        fields = ("attempted_at", "status_code", "duration_ms", "response_excerpt")
