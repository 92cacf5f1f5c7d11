"""The API key form (the page's popup). It validates and normalises; the service decides."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from msp_portal.forms import PortalForm

from .scopes import Scope, scopes_for
from .services import NAME_MAX_LENGTH


class ApiKeyForm(PortalForm):
    name = forms.CharField(
        label=_("Name"),
        max_length=NAME_MAX_LENGTH,
        help_text=_("What uses the key, e.g. “billing system”."),
        error_messages={"required": _("Enter a name for the key.")},
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Choose at least one scope."),
            "invalid_choice": _("Choose scopes from the list."),
        },
    )
    expires_on = forms.DateField(
        label=_("Expires on"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": _("Enter the expiry date."), "invalid": _("Enter a date such as 2026-12-31.")},
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(Scope.choices)
        self.fields["scopes"].choices = [
            (scope.value, f"{scope.value} — {labels[scope]}") for scope in scopes_for(organization)
        ]
        today = timezone.localdate()
        self.max_date = today + dt.timedelta(days=settings.PORTAL_API_KEY_MAX_DAYS)
        self.fields["expires_on"].initial = today + dt.timedelta(days=settings.PORTAL_API_KEY_DEFAULT_DAYS)
        self.fields["expires_on"].help_text = _("At most one year ahead (until %(date)s).") % {
            "date": self.max_date.isoformat()
        }
        self.fields["expires_on"].widget.attrs.update(
            {"min": (today + dt.timedelta(days=1)).isoformat(), "max": self.max_date.isoformat()}
        )

    def clean_name(self):
        value = self.cleaned_data["name"].strip()
        if not value:
            raise forms.ValidationError(_("Enter a name for the key."))
        return value

    def clean_expires_on(self):
        value = self.cleaned_data["expires_on"]
        if value <= timezone.localdate():
            raise forms.ValidationError(_("The expiry date must be a future date."))
        if value > self.max_date:
            raise forms.ValidationError(_("A key can be valid for at most one year."))
        return value
