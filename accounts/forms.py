from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm, PasswordResetForm, SetPasswordForm
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from msp_portal.forms import PortalForm, PortalFormMixin, style_widgets
from msp_portal.permissions import ROLES_BY_KIND, OrganizationKind, Role

from .models import Organization, User

NAME_MAX_LENGTH = User._meta.get_field("name").max_length
EMAIL_MAX_LENGTH = 254


class LoginForm(PortalFormMixin, AuthenticationForm):
    username = forms.EmailField(
        label=_("E-mail address"),
        max_length=EMAIL_MAX_LENGTH,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    error_messages = {
        "invalid_login": _("The e-mail address or password is incorrect."),
        "inactive": _("This account has been deactivated."),
    }


class PortalPasswordResetForm(PortalFormMixin, PasswordResetForm):
    """Django's reset form, but the e-mail goes out in the user's own language and reaches
    invited users who have not set a password yet. The page answers the same whether or not
    the address is known, so nobody can find out who has an account."""

    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=EMAIL_MAX_LENGTH,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    def get_users(self, email):
        return User.objects.filter(email__iexact=email.strip(), is_active=True)

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email, **kwargs):
        with translation.override(context["user"].language):
            super().send_mail(subject_template_name, email_template_name, context, from_email, to_email, **kwargs)


class PortalPasswordChangeForm(PortalFormMixin, PasswordChangeForm):
    """Django's password change form in the portal's styling."""


class PortalSetPasswordForm(PortalFormMixin, SetPasswordForm):
    """Django's new-password form (password reset, a new customer admin's first password)."""


class TokenForm(PortalForm):
    token = forms.RegexField(
        label=_("Six-digit code"),
        regex=r"^\d{6}\Z",
        error_messages={"invalid": _("Enter the six digits shown by your authenticator app.")},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True, "maxlength": 6}
        ),
    )

    def clean_token(self):
        return self.cleaned_data["token"].strip()


def _clean_name(value: str) -> str:
    name = " ".join(value.split())
    if not name:
        raise forms.ValidationError(_("Enter a name."), code="required")
    return name


class ProfileForm(PortalForm):
    name = forms.CharField(label=_("Name"), max_length=NAME_MAX_LENGTH)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)

    def clean_name(self):
        return _clean_name(self.cleaned_data["name"])


class StaffInviteForm(PortalForm):
    """Invite a staff member. `organizations` (operator only) offers a choice of organization;
    otherwise the organization is fixed and only its kind's roles are offered."""

    name = forms.CharField(label=_("Name"), max_length=NAME_MAX_LENGTH)
    email = forms.EmailField(label=_("E-mail address"), max_length=EMAIL_MAX_LENGTH)
    role = forms.ChoiceField(label=_("Role"))
    language = forms.ChoiceField(
        label=_("Language of e-mails"), choices=settings.LANGUAGES, initial=settings.LANGUAGE_CODE
    )

    def __init__(self, *args, organization: Organization | None = None, organizations=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        if organizations is not None:
            self.fields = {
                "organization": forms.ModelChoiceField(label=_("Organization"), queryset=organizations),
                **self.fields,
            }
            kinds = [OrganizationKind.OPERATOR, OrganizationKind.PRIVILEGED_MSP, OrganizationKind.MSP]
            roles = [role for kind in kinds for role in ROLES_BY_KIND[kind]]
            roles = list(dict.fromkeys(roles))
        else:
            roles = list(ROLES_BY_KIND[organization.kind])
        self.fields["role"].choices = [(role, Role(role).label) for role in roles]
        style_widgets(self.fields)

    def clean_name(self):
        return _clean_name(self.cleaned_data["name"])

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(_("A user with this e-mail address already exists."), code="duplicate")
        return email

    def clean(self):
        cleaned = super().clean()
        organization = cleaned.get("organization", self.organization)
        role = cleaned.get("role")
        if organization is not None and role and role not in ROLES_BY_KIND[organization.kind]:
            self.add_error("role", _("That role does not exist in this organization."))
        cleaned["organization"] = organization
        return cleaned


class SupportStaffInviteForm(StaffInviteForm):
    """Add a member to a support account: the role is always support staff."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["role"]

    def clean(self):
        self.cleaned_data["role"] = Role.SUPPORT_STAFF
        return super().clean()


class StaffRoleForm(PortalForm):
    role = forms.ChoiceField(label=_("Role"))

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(role, Role(role).label) for role in ROLES_BY_KIND[organization.kind]]


class SupportAccountForm(PortalForm):
    name = forms.CharField(label=_("Support account name"), max_length=Organization._meta.get_field("name").max_length)

    def __init__(self, *args, msps=None, **kwargs):
        super().__init__(*args, **kwargs)
        if msps is not None:
            self.fields = {"msp": forms.ModelChoiceField(label=_("MSP"), queryset=msps), **self.fields}
            style_widgets(self.fields)

    def clean_name(self):
        return _clean_name(self.cleaned_data["name"])


class OrganizationTwoFactorForm(PortalForm):
    require_two_factor = forms.BooleanField(
        label=_("Require two-factor authentication for every member"),
        required=False,
    )


class OrganizationReauthenticationForm(PortalForm):
    points = forms.IntegerField(
        label=_("Ask to confirm it is you before moving more than this many points at once"),
        min_value=1,
        max_value=1_000_000_000,
        error_messages={
            "min_value": _("Enter a number of points of at least 1."),
            "invalid": _("Enter a whole number of points."),
        },
    )


class PasswordCheckForm(PortalForm):
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )


class PasskeyNameForm(PortalForm):
    name = forms.CharField(label=_("Passkey name"), max_length=64)
