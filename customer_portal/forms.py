"""Forms of the customer admin portal: they validate and normalise, nothing else."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from customers.models import CompanySize, CustomerAccount, Industry
from customers.services import CUSTOMER_EDITABLE_FIELDS
from msp_portal.forms import PortalForm, PortalModelForm
from msp_portal.spreadsheets import looks_like_formula

from .models import USER_NAME_MAX_LENGTH, USER_NAME_VALIDATOR


def reject_markup(value: str) -> None:
    """Names are plain text: angle brackets are refused rather than stored and escaped."""
    if value and ("<" in value or ">" in value):
        raise ValidationError(_("Do not use < or > in this field."), code="markup")


def reject_formula(value: str) -> None:
    """A cell a spreadsheet would run as a formula (CSV injection) is refused."""
    if looks_like_formula(value):
        raise ValidationError(
            _("Must not start with =, +, -, @, a tab or a carriage return (a spreadsheet would run it as a formula)."),
            code="formula",
        )


def reject_control_characters(value: str) -> None:
    if value and any(ord(ch) < 32 for ch in value):
        raise ValidationError(_("Remove line breaks and other control characters."), code="control")


class CustomerInfoForm(PortalModelForm):
    """顧客情報 as the customer may edit it (the account code is fixed)."""

    class Meta:
        model = CustomerAccount
        fields = CUSTOMER_EDITABLE_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["industry"].choices = [("", "---------"), *Industry.choices]
        self.fields["company_size"].choices = [("", "---------"), *CompanySize.choices]
        for name in ("company_name", "company_name_kana", "country", "address", "contact_name", "phone"):
            self.fields[name].validators += [reject_markup, reject_control_characters]

    def clean_email_domain(self) -> str:
        domain = self.cleaned_data["email_domain"].strip().lower()
        if "@" in domain or not domain or " " in domain or "." not in domain:
            raise ValidationError(_("Enter a domain such as example.co.jp, without @."))
        return domain

    def clean_contact_email(self) -> str:
        return self.cleaned_data["contact_email"].strip().lower()


LANGUAGE_CHOICES = [(code, name) for code, name in settings.LANGUAGES]


class CustomerAdminForm(PortalForm):
    name = forms.CharField(
        label=_("Name"), max_length=100, validators=[reject_markup, reject_control_characters], strip=True
    )
    email = forms.EmailField(label=_("E-mail address (sign-in ID)"), max_length=254)
    language = forms.ChoiceField(label=_("Language of e-mails"), choices=LANGUAGE_CHOICES, initial="ja")

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class ServiceUserForm(PortalForm):
    """One service user; the bulk import validates every CSV row with this same form."""

    user_name = forms.CharField(label=_("User name"), max_length=USER_NAME_MAX_LENGTH, strip=True)
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    display_name = forms.CharField(
        label=_("Display name"),
        max_length=100,
        validators=[reject_formula, reject_markup, reject_control_characters],
        strip=False,
    )
    department = forms.CharField(
        label=_("Department"),
        max_length=100,
        required=False,
        validators=[reject_formula, reject_markup, reject_control_characters],
        strip=False,
    )

    def __init__(self, *args, fixed_user_name: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if fixed_user_name:
            del self.fields["user_name"]

    def clean_user_name(self) -> str:
        value = self.cleaned_data["user_name"]
        reject_formula(value)
        value = value.lower()
        USER_NAME_VALIDATOR(value)
        return value

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean_display_name(self) -> str:
        value = self.cleaned_data["display_name"]
        if not value.strip():
            raise ValidationError(_("This field is required."), code="required")
        return value.strip()

    def clean_department(self) -> str:
        return self.cleaned_data["department"].strip()


class ServiceUserImportForm(PortalForm):
    file = forms.FileField(label=_("CSV file"))

    def clean_file(self):
        from .csv_import import MAX_FILE_BYTES

        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise ValidationError(
                _("The file is larger than %(limit)s MB. Split it into smaller files.")
                % {"limit": MAX_FILE_BYTES // (1024 * 1024)}
            )
        return upload


class DeliveryNoticeForm(PortalForm):
    language = forms.ChoiceField(label=_("Language of the e-mail"), choices=LANGUAGE_CHOICES, initial="ja")
