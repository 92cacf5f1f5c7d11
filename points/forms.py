"""Forms of the point operations. They validate and normalise; the services decide."""

from __future__ import annotations

import secrets
import unicodedata

from django import forms
from django.core import signing
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from msp_portal.forms import PortalForm

from .purchase_requests import NOTE_MAX_LENGTH
from .services import MAX_POINTS, ORDER_REFERENCE_MAX_LENGTH, REASON_MAX_LENGTH

FORM_KEY_SALT = "points.form-key"
# A rendered form stays usable for a working day; an older one must be reloaded.
FORM_KEY_MAX_AGE = 24 * 60 * 60


def mint_form_key(user, purpose: str) -> str:
    """A signed random token for a form that moves points, minted when the form is rendered.
    Its nonce becomes the transfer's idempotency key, so a double click or a resubmitted POST
    moves points once. Signed so that a client can neither invent keys (and collide with a job's
    `consume:…` keys or another form's) nor reuse another user's token."""
    return signing.dumps({"n": secrets.token_urlsafe(18), "u": user.pk, "p": purpose}, salt=FORM_KEY_SALT)


def idempotency_key_from(token: str, user, purpose: str) -> str | None:
    """The idempotency key a token stands for, or None when it is forged, expired or not this
    user's token for this form."""
    try:
        data = signing.loads(token, salt=FORM_KEY_SALT, max_age=FORM_KEY_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != user.pk or data.get("p") != purpose:
        return None
    return f"form:{purpose}:{data['n']}"


class PointsField(forms.IntegerField):
    """A whole number of points; accepts full-width digits and thousands separators (１，０００)."""

    def to_python(self, value):
        if isinstance(value, str):
            value = unicodedata.normalize("NFKC", value).replace(",", "").replace("_", "").strip()
        return super().to_python(value)


def points_field(label, *, min_value: int | None = 1, **kwargs) -> PointsField:
    return PointsField(
        label=label,
        min_value=min_value,
        max_value=MAX_POINTS,
        error_messages={
            "invalid": _("Enter the points as a whole number."),
            "min_value": _("Enter a number of points greater than zero."),
            "max_value": _("One operation can move at most %(limit_value)s points."),
        },
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        **kwargs,
    )


class TokenForm(PortalForm):
    """A form whose POST carries the signed token minted when it was rendered."""

    purpose = ""
    token = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["token"] = mint_form_key(user, self.purpose)

    def clean_token(self) -> str:
        key = idempotency_key_from(self.cleaned_data["token"], self.user, self.purpose)
        if key is None:
            raise forms.ValidationError(_("This form has expired. Close it and open it again."))
        self.idempotency_key = key
        return self.cleaned_data["token"]


class PointsChangeForm(TokenForm):
    """ポイント数更新: 追加 (add) or 削除 (remove) an amount."""

    purpose = "change"
    ADD, REMOVE = "add", "remove"
    operation = forms.ChoiceField(
        label=_("Operation"),
        choices=[(ADD, _("Add")), (REMOVE, _("Remove"))],
        initial=ADD,
        widget=forms.RadioSelect,
    )
    amount = points_field(_("Points to change"))
    confirm_negative = forms.BooleanField(
        label=_("I understand that the current points will be negative."), required=False
    )


class ReplenishForm(TokenForm):
    """ポイント数自動更新: the selected accounts, previewed and then confirmed."""

    purpose = "replenish"
    ids = forms.TypedMultipleChoiceField(coerce=int, choices=(), widget=forms.MultipleHiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The view has read the ids (msp_portal.requests.selected_ids: 400 for a malformed one)
        # and resolves them through the tenant scope (404 outside).
        self.fields["ids"].valid_value = lambda value: True
        self.fields["ids"].error_messages["invalid_choice"] = _("The selection is not valid.")
        self.fields["ids"].error_messages["required"] = _("Select at least one customer account.")

    def clean_ids(self) -> list[int]:
        return sorted(set(self.cleaned_data["ids"]))


class PurchaseForm(TokenForm):
    """An operator records points an MSP bought from the distributor."""

    purpose = "purchase"
    organization = forms.ModelChoiceField(label=_("MSP"), queryset=Organization.objects.none())
    amount = points_field(_("Points"))
    order_reference = forms.CharField(label=_("Order reference"), max_length=ORDER_REFERENCE_MAX_LENGTH)

    def __init__(self, *args, organizations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations


class AdjustmentForm(TokenForm):
    """An operator's correction of a pool or a wallet, with a reason."""

    purpose = "adjust"
    POOL, WALLET = "pool", "wallet"
    target = forms.ChoiceField(
        label=_("Adjust"),
        choices=[(POOL, _("An MSP point pool")), (WALLET, _("A customer account's points"))],
        widget=forms.RadioSelect,
        initial=POOL,
    )
    organization = forms.ModelChoiceField(label=_("MSP"), queryset=Organization.objects.none(), required=False)
    account_code = forms.CharField(label=_("Account code"), max_length=40, required=False)
    amount = points_field(_("Points (negative to remove)"), min_value=-MAX_POINTS)
    reason = forms.CharField(label=_("Reason"), max_length=REASON_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, organizations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations

    def clean_amount(self) -> int:
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError(_("Enter a number of points other than zero."))
        return amount

    def clean(self):
        cleaned = super().clean()
        target = cleaned.get("target")
        if target == self.POOL and not cleaned.get("organization"):
            self.add_error("organization", _("Choose the MSP."))
        if target == self.WALLET and not (cleaned.get("account_code") or "").strip():
            self.add_error("account_code", _("Enter the customer's account code."))
        return cleaned


class ReverseForm(PortalForm):
    reason = forms.CharField(label=_("Reason"), max_length=REASON_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}))


class RuleForm(PortalForm):
    effective_from = forms.DateField(label=_("Effective from"), widget=forms.DateInput(attrs={"type": "date"}))
    base_points = forms.IntegerField(label=_("Base points"), min_value=0, max_value=MAX_POINTS)
    included_users = forms.IntegerField(label=_("Users included in the base"), min_value=0, max_value=MAX_POINTS)
    points_per_extra_user = forms.IntegerField(label=_("Points per additional user"), min_value=0, max_value=MAX_POINTS)
    memo = forms.CharField(label=_("Memo"), max_length=500, required=False)


class PurchaseRequestForm(TokenForm):
    """ポイント購入申請: an MSP asks the operator for points. The MSP is chosen only by a user
    who sees more than one pool (the operator filing a request for an MSP, a privileged MSP for
    a child); the others file for their own."""

    purpose = "purchase-request"
    organization = forms.ModelChoiceField(label=_("MSP"), queryset=Organization.objects.none())
    amount = points_field(_("Points"))
    order_reference = forms.CharField(label=_("Order reference"), max_length=ORDER_REFERENCE_MAX_LENGTH)
    note = forms.CharField(
        label=_("Note"), max_length=NOTE_MAX_LENGTH, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, organizations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations
        only = list(organizations[:2])
        if len(only) == 1:
            self.fields["organization"].initial = only[0].pk
            self.fields["organization"].widget = forms.HiddenInput()


class DeclineForm(PortalForm):
    reason = forms.CharField(label=_("Reason"), max_length=REASON_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}))
