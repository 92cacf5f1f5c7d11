"""Organizations, staff users and their roles (the identity of everyone who signs in).

Nothing here is ever hard-deleted: users are deactivated (DESIGN.md §2). The customer
accounts are the `customers` app.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from msp_portal.permissions import OrganizationKind, Role


class Organization(models.Model):
    """The operator, a (privileged) MSP, or a support account belonging to one MSP."""

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=OrganizationKind.choices)
    # A child MSP's privileged MSP, or the MSP a support account belongs to.
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Every staff organization requires a second factor from the start (issue 23); an
    # organization that had none gets until `two_factor_deadline` to enrol (the data migration),
    # and after it sign-in goes straight to the enrolment page.
    require_two_factor = models.BooleanField(_("require two-factor authentication"), default=True)
    two_factor_deadline = models.DateTimeField(_("two-factor enrolment deadline"), null=True, blank=True)
    # A point move of more than this many points asks the user to confirm it is them again.
    # db_default too: code that writes organizations with an older model (the ledger's migration
    # tests roll the ledger back, which leaves this column in place) still gets a value.
    reauthentication_point_threshold = models.PositiveIntegerField(
        _("points that need re-authentication"), default=10_000, db_default=10_000
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(name="organization_kind_valid", condition=Q(kind__in=OrganizationKind.values)),
            # A support account always belongs to an MSP; the operator never has a parent.
            models.CheckConstraint(
                name="organization_parent_by_kind",
                condition=(
                    Q(kind=OrganizationKind.SUPPORT, parent__isnull=False)
                    | Q(kind=OrganizationKind.OPERATOR, parent__isnull=True)
                    | Q(kind=OrganizationKind.PRIVILEGED_MSP, parent__isnull=True)
                    | Q(kind=OrganizationKind.MSP)
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def two_factor_enforced(self, now=None) -> bool:
        """Whether members without a second factor must enrol before any other page: always for
        the operator, and once a required organization's grace period (if any) is over."""
        if self.kind == OrganizationKind.OPERATOR:
            return True
        if not self.require_two_factor:
            return False
        return self.two_factor_deadline is None or self.two_factor_deadline <= (now or timezone.now())

    @property
    def is_operator(self) -> bool:
        return self.kind == OrganizationKind.OPERATOR

    @property
    def is_msp(self) -> bool:
        return self.kind in (OrganizationKind.MSP, OrganizationKind.PRIVILEGED_MSP)

    @property
    def is_support(self) -> bool:
        return self.kind == OrganizationKind.SUPPORT


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields["is_staff"] = True
        extra_fields["is_superuser"] = True
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an e-mail address. Deactivated, never deleted."""

    email = models.EmailField(_("e-mail address"), unique=True)
    name = models.CharField(_("name"), max_length=100)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default="ja")
    is_active = models.BooleanField(_("active"), default=True)
    # Access to the Django admin site, for operator engineers only.
    is_staff = models.BooleanField(_("Django admin access"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]

    def __str__(self) -> str:
        return self.name or self.email

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name

    @property
    def organization(self) -> Organization | None:
        membership = getattr(self, "membership", None)
        return membership.organization if membership is not None else None


class Membership(models.Model):
    """A staff user's one organization and role."""

    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="membership")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.CheckConstraint(name="membership_role_valid", condition=Q(role__in=Role.values))]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"


class UserSession(models.Model):
    """One signed-in browser of a user, keyed on its Django session: written at sign-in, its
    last request noted at most once a minute (accounts.middleware.SessionActivityMiddleware),
    ended by signing out or from the profile and staff pages. Ended rows stay as history and
    tell which browsers the user has signed in from before (the new-browser e-mail)."""

    class EndReason(models.TextChoices):
        SIGNED_OUT = "signed_out", _("Signed out")
        ENDED_BY_USER = "ended_by_user", _("Ended by the user")
        ENDED_BY_ADMIN = "ended_by_admin", _("Ended by an administrator")
        DEACTIVATED = "deactivated", _("User deactivated")
        PASSWORD = "password", _("Password changed or reset")

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="browser_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    # A random id the browser keeps in a long-lived cookie: a sign-in with an id this user has
    # never used before is a new browser.
    browser_id = models.CharField(max_length=64, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    signed_in_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True)

    class Meta:
        verbose_name = _("browser session")
        verbose_name_plural = _("browser sessions")
        indexes = [
            models.Index(fields=["user", "browser_id"], name="usersession_user_browser"),
            models.Index(fields=["user"], condition=Q(ended_at__isnull=True), name="usersession_user_live"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.signed_in_at:%Y-%m-%d %H:%M}"
