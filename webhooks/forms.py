from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from msp_portal.forms import PortalForm

from .events import EVENT_TYPES
from .services import DESCRIPTION_MAX_LENGTH, URL_MAX_LENGTH


class EndpointForm(PortalForm):
    """The endpoint popup: URL, description, and the event types as a checkbox list. The rules
    (HTTPS, public address, known types) are the service's; the form only shapes the input."""

    url = forms.CharField(
        label=_("Endpoint URL"),
        max_length=URL_MAX_LENGTH,
        help_text=_("The address that receives the events by POST, e.g. https://example.com/webhooks/portal"),
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )
    description = forms.CharField(label=_("Description"), max_length=DESCRIPTION_MAX_LENGTH, required=False)
    event_types = forms.MultipleChoiceField(
        label=_("Event types"),
        choices=EVENT_TYPES,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one event type.")},
    )


class ConfirmForm(PortalForm):
    """A confirmation with nothing to fill in (delete, rotate, test, redeliver, enable)."""
