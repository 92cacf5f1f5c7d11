"""Forms of the customer account popups. They validate and normalise; the services decide."""

from __future__ import annotations

import re
import unicodedata

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from accounts.selectors import managed_organization_ids, support_accounts_for
from msp_portal import dates
from msp_portal.forms import PortalForm
from msp_portal.permissions import OrganizationKind

from .lifecycle import CODE_EDITABLE_STATUSES
from .menus import CUSTOMER_PORTAL_MENUS, MENU_KEYS
from .models import CONTRACTED_USERS_MAX, CompanySize, CustomerAccount, Industry
from .services import INFO_FIELDS, RESELLER_FIELDS

ACCOUNT_CODE_RE = re.compile(r"^[a-z0-9-]{3,40}\Z")
DOMAIN_RE = re.compile(r"^(?=.{1,253}\Z)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]\Z")


def _fold(value: str) -> str:
    """Full-width letters and digits typed with a Japanese input method become ASCII."""
    return unicodedata.normalize("NFKC", value or "").strip()


def contracted_users_field(**kwargs) -> forms.IntegerField:
    return forms.IntegerField(
        label=_("Contracted users"),
        min_value=1,
        max_value=CONTRACTED_USERS_MAX,
        error_messages={
            "required": _("Enter the number of contracted users."),
            "invalid": _("Enter the number of contracted users as a whole number."),
            "min_value": _("The number of contracted users must be at least 1."),
            "max_value": _("The number of contracted users must be at most 1,000,000."),
        },
        widget=forms.NumberInput(attrs={"min": 1, "max": CONTRACTED_USERS_MAX, "step": 1}),
        **kwargs,
    )


class CustomerInfoForm(PortalForm):
    """顧客情報 (customer info)."""

    account_code = forms.CharField(
        label=_("Account code"),
        max_length=40,
        help_text=_("The tenant id: 3 to 40 lowercase letters, digits and hyphens. Fixed after approval."),
        error_messages={"required": _("Enter the account code.")},
    )
    company_name = forms.CharField(
        label=_("Company name"), max_length=200, error_messages={"required": _("Enter the company name.")}
    )
    company_name_kana = forms.CharField(label=_("Company name (kana)"), max_length=200, required=False)
    email_domain = forms.CharField(
        label=_("Primary e-mail domain"),
        max_length=253,
        help_text=_("For example: example.co.jp (without “@”)."),
        error_messages={"required": _("Enter the primary e-mail domain.")},
    )
    country = forms.CharField(label=_("Country"), max_length=100, required=False, initial="日本")
    address = forms.CharField(label=_("City / address"), max_length=300, required=False)
    industry = forms.ChoiceField(label=_("Industry"), choices=[("", "---------"), *Industry.choices], required=False)
    company_size = forms.ChoiceField(
        label=_("Company size"), choices=[("", "---------"), *CompanySize.choices], required=False
    )
    contact_name = forms.CharField(label=_("Contact name"), max_length=100, required=False)
    contact_email = forms.EmailField(label=_("Contact e-mail"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False)

    def __init__(self, *args, customer: CustomerAccount | None = None, **kwargs):
        self.customer = customer
        super().__init__(*args, **kwargs)
        if customer is not None and customer.status not in CODE_EDITABLE_STATUSES:
            field = self.fields["account_code"]
            field.disabled = True
            field.help_text = _("The account code is fixed once the account has been approved.")

    def clean_account_code(self):
        value = _fold(self.cleaned_data["account_code"]).lower()
        if not ACCOUNT_CODE_RE.match(value):
            raise forms.ValidationError(_("Use 3 to 40 characters: lowercase letters, digits and hyphens."))
        taken = CustomerAccount.objects.filter(account_code=value)
        if self.customer is not None:
            taken = taken.exclude(pk=self.customer.pk)
        if taken.exists():
            raise forms.ValidationError(_("This account code is already in use."))
        return value

    def clean_company_name(self):
        value = self.cleaned_data["company_name"].strip()
        if not value:
            raise forms.ValidationError(_("Enter the company name."))
        return value

    def clean_email_domain(self):
        raw = unicodedata.normalize("NFKC", self.cleaned_data["email_domain"]).strip()
        if "@" in raw:
            raise forms.ValidationError(_("Enter only the domain, without “@” (for example: example.co.jp)."))
        if re.search(r"\s", raw):
            raise forms.ValidationError(_("The domain must not contain spaces."))
        value = raw.lower().rstrip(".")
        if not DOMAIN_RE.match(value):
            raise forms.ValidationError(_("Enter a valid domain such as example.co.jp."))
        return value

    def clean(self):
        cleaned = super().clean()
        for name in ("company_name_kana", "country", "address", "contact_name", "phone"):
            if isinstance(cleaned.get(name), str):
                cleaned[name] = cleaned[name].strip()
        if "contact_email" in cleaned:
            cleaned["contact_email"] = (cleaned["contact_email"] or "").lower()
        return cleaned

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in INFO_FIELDS if name in self.cleaned_data}


class ResellerForm(PortalForm):
    """販売店情報 (reseller info)."""

    reseller_name = forms.CharField(label=_("Reseller name"), max_length=200, required=False)
    reseller_contact_name = forms.CharField(label=_("Reseller contact name"), max_length=100, required=False)
    reseller_contact_email = forms.EmailField(label=_("Reseller contact e-mail"), required=False)

    def clean(self):
        cleaned = super().clean()
        for name in ("reseller_name", "reseller_contact_name"):
            if isinstance(cleaned.get(name), str):
                cleaned[name] = cleaned[name].strip()
        if "reseller_contact_email" in cleaned:
            cleaned["reseller_contact_email"] = (cleaned["reseller_contact_email"] or "").lower()
        return cleaned

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in RESELLER_FIELDS if name in self.cleaned_data}


def _registration_data(form) -> dict:
    return {
        **CustomerInfoForm.changes(form),
        "contracted_users": form.cleaned_data["contracted_users"],
        **ResellerForm.changes(form),
    }


class CustomerRegisterForm(CustomerInfoForm, ResellerForm):
    """基本情報登録: the three groups of the seed, plus the MSP for staff who manage several."""

    contracted_users = contracted_users_field()
    organization = forms.ModelChoiceField(
        label=_("MSP"),
        queryset=Organization.objects.none(),
        error_messages={
            "required": _("Choose the MSP."),
            "invalid_choice": _("Choose one of the MSPs you manage."),
        },
    )

    field_order = ["organization", *INFO_FIELDS, "contracted_users", *RESELLER_FIELDS]
    info_fields = INFO_FIELDS
    reseller_fields = RESELLER_FIELDS

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        managed = managed_organization_ids(user)
        msps = Organization.objects.filter(
            kind__in=[OrganizationKind.MSP, OrganizationKind.PRIVILEGED_MSP], is_active=True
        ).order_by("name", "id")
        if managed is not None:
            msps = msps.filter(pk__in=managed)
        self.fields["organization"].queryset = msps
        self.single_organization = None
        if managed is not None and len(managed) == 1:
            # An MSP registers for itself: no choice to make.
            self.single_organization = msps.filter(pk=managed[0]).first()
            self.fields["organization"].required = False
            self.fields["organization"].widget = forms.HiddenInput()
        elif user.organization is not None and user.organization.is_msp:
            self.fields["organization"].initial = user.organization.pk

    def clean_organization(self):
        return self.single_organization or self.cleaned_data.get("organization")

    def registration_data(self) -> dict:
        return _registration_data(self)


class CustomerResubmitForm(CustomerInfoForm, ResellerForm):
    """A returned application, corrected: the same groups as the registration."""

    contracted_users = contracted_users_field()
    field_order = [*INFO_FIELDS, "contracted_users", *RESELLER_FIELDS]
    info_fields = INFO_FIELDS
    reseller_fields = RESELLER_FIELDS

    def registration_data(self) -> dict:
        return _registration_data(self)


class ContractForm(PortalForm):
    """契約ユーザ数更新."""

    contracted_users = contracted_users_field()

    def __init__(self, *args, customer: CustomerAccount, **kwargs):
        self.customer = customer
        super().__init__(*args, **kwargs)
        self.fields["contracted_users"].label = _("Contracted users after the change")

    def clean_contracted_users(self):
        value = self.cleaned_data["contracted_users"]
        if value == self.customer.contracted_users:
            raise forms.ValidationError(_("Enter a number different from the current one."))
        return value


class SupportForm(PortalForm):
    """サポート: one of the MSP's own support accounts, or none."""

    support_account = forms.ModelChoiceField(
        label=_("Support account"),
        queryset=Organization.objects.none(),
        required=False,
        empty_label=_("None"),
        error_messages={"invalid_choice": _("Choose one of this MSP's own support accounts.")},
    )

    def __init__(self, *args, customer: CustomerAccount, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["support_account"].queryset = support_accounts_for(customer.organization).order_by("name", "id")


class ScreenForm(PortalForm):
    """画面のカスタマイズ: a checked menu is shown in the customer admin portal; unchecking hides it."""

    visible_menus = forms.MultipleChoiceField(
        label=_("Menus shown in the customer admin portal"),
        choices=CUSTOMER_PORTAL_MENUS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("Choose menus from the list.")},
    )

    def hidden_menus(self) -> list[str]:
        visible = set(self.cleaned_data["visible_menus"])
        return [key for key in MENU_KEYS if key not in visible]


class RejectForm(PortalForm):
    reason = forms.CharField(
        label=_("Reason for returning"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Enter the reason for returning the application.")},
    )

    def clean_reason(self):
        value = self.cleaned_data["reason"].strip()
        if not value:
            raise forms.ValidationError(_("Enter the reason for returning the application."))
        return value


class WithdrawForm(PortalForm):
    reason = forms.CharField(
        label=_("Reason (optional)"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


# --- 解約 and 解約予定日 ---------------------------------------------------------------------------

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
