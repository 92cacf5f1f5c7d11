"""The forms of merge and transfer requests: they validate and normalise, the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from msp_portal.forms import PortalForm

NOTE_MAX_LENGTH = 2000


class NoteField(forms.CharField):
    def __init__(self, **kwargs):
        super().__init__(
            label=pgettext_lazy("merge or transfer request", "Note"),
            required=False,
            max_length=NOTE_MAX_LENGTH,
            widget=forms.Textarea(attrs={"rows": 3}),
            help_text=_("Why the accounts should be merged or moved; the other side reads it."),
            **kwargs,
        )


class MergeRequestForm(PortalForm):
    SURVIVOR_CHOICES = [
        ("this", _("This account (the other account is merged into it)")),
        ("other", _("The other account (this account is merged into it)")),
    ]
    survivor = forms.ChoiceField(
        label=_("Account owner (the surviving account)"),
        choices=SURVIVOR_CHOICES,
        initial="this",
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose the surviving account."),
            "invalid_choice": _("Choose the surviving account."),
        },
    )
    note = NoteField()
    token = forms.CharField(widget=forms.HiddenInput)


class TransferRequestForm(PortalForm):
    msp_code = forms.CharField(
        label=_("Code of the receiving MSP"),
        max_length=20,
        help_text=_("The receiving MSP finds its code on its merge and transfer requests page (e.g. MSP-00012)."),
        error_messages={"required": _("Enter the code of the receiving MSP.")},
    )
    note = NoteField()
    token = forms.CharField(widget=forms.HiddenInput)


class ApproveForm(PortalForm):
    confirmation = forms.CharField(
        label=_("Type the account code of the absorbed account to confirm"),
        max_length=40,
        required=False,
    )
    keep_admins = forms.BooleanField(
        label=_("Keep the absorbed account's administrators as administrators of the surviving account"),
        required=False,
        help_text=_("Otherwise they become ordinary users of the surviving account."),
    )


class RejectForm(PortalForm):
    reason = forms.CharField(
        label=_("Reason for rejecting"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Enter the reason for rejecting the request.")},
    )

    def clean_reason(self):
        value = self.cleaned_data["reason"].strip()
        if not value:
            raise forms.ValidationError(_("Enter the reason for rejecting the request."))
        return value


class SearchForm(PortalForm):
    query = forms.CharField(
        label=_("E-mail domain or account code"),
        max_length=253,
        error_messages={"required": _("Enter an e-mail domain or an account code.")},
    )
