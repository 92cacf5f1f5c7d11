from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from msp_portal import dates
from msp_portal.forms import PortalForm

AGREE_REQUIRED = _("Check “I agree” to continue.")


class CancelForm(PortalForm):
    agreed = forms.BooleanField(label=_("I agree"), error_messages={"required": AGREE_REQUIRED})


class CancellationDateForm(PortalForm):
    cancellation_date = forms.DateField(
        label=_("Cancellation date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter a date such as 2026-12-31.")},
    )
    agreed = forms.BooleanField(label=_("I agree"), required=False)
    # "clear" removes the date (no agreement needed); anything else sets it.
    action = forms.ChoiceField(choices=[("set", "set"), ("clear", "clear")], required=False, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == "clear":
            cleaned["cancellation_date"] = None
            return cleaned
        day = cleaned.get("cancellation_date")
        if day is None:
            if "cancellation_date" not in self.errors:
                self.add_error("cancellation_date", _("Enter the cancellation date."))
        elif day <= dates.today():
            self.add_error("cancellation_date", _("The cancellation date must be a future date."))
        if not cleaned.get("agreed"):
            self.add_error("agreed", AGREE_REQUIRED)
        return cleaned
