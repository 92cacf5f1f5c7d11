"""The customer admin portal's data: a customer's admins (顧客管理者) and its service users.

Nothing here is hard-deleted: admins and users are disabled (DESIGN.md §3, §9).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

USER_NAME_MAX_LENGTH = 100
# A sign-in name of the service: starts with a letter or digit (so it can never be read as a
# spreadsheet formula), then letters, digits and . _ @ -; stored in lowercase.
USER_NAME_VALIDATOR = RegexValidator(
    r"^[a-z0-9][a-z0-9._@-]{0,99}\Z",
    _("Use up to 100 characters: letters, digits and . _ @ -, starting with a letter or digit."),
)


class CustomerAdmin(models.Model):
    """A customer's administrator: a User without a staff membership who may sign in to that
    customer's admin portal only. Not counted in the contracted users."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, related_name="customer_admin"
    )
    customer = models.ForeignKey(
        "customers.CustomerAccount", verbose_name=_("customer account"), on_delete=models.PROTECT, related_name="admins"
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("registered at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("customer administrator")
        verbose_name_plural = _("customer administrators")
        ordering = ["customer_id", "id"]
        indexes = [models.Index(fields=["customer", "is_active"], name="customer_admin_active")]

    def __str__(self) -> str:
        return f"{self.user} ({self.customer_id})"


class ServiceUser(models.Model):
    """A user of the service in a customer's tenant; the active ones count against the
    customer's contracted users."""

    customer = models.ForeignKey(
        "customers.CustomerAccount", verbose_name=_("customer account"), on_delete=models.PROTECT, related_name="+"
    )
    user_name = models.CharField(_("user name"), max_length=USER_NAME_MAX_LENGTH, validators=[USER_NAME_VALIDATOR])
    email = models.EmailField(_("e-mail address"))
    display_name = models.CharField(_("display name"), max_length=100)
    department = models.CharField(_("department"), max_length=100, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("registered at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("service user")
        verbose_name_plural = _("service users")
        ordering = ["customer_id", "user_name"]
        constraints = [
            # Also the index of the list, sorted by user name within one customer.
            models.UniqueConstraint(fields=["customer", "user_name"], name="service_user_name_unique"),
            models.CheckConstraint(name="service_user_names_present", condition=~Q(user_name="") & ~Q(display_name="")),
        ]
        indexes = [
            # Counting a customer's active users (the contracted-users check) reads only this.
            models.Index(fields=["customer"], condition=Q(is_active=True), name="service_user_active"),
        ]

    def __str__(self) -> str:
        return self.user_name


class ServiceUserImport(models.Model):
    """A validated CSV upload waiting for its confirmation, keyed by a random token, so the
    confirm step imports exactly the rows the preview showed."""

    token = models.CharField(max_length=64, unique=True)
    customer = models.ForeignKey("customers.CustomerAccount", on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(max_length=255, blank=True)
    # {"rows": [{"line": n, "user_name": …, "email": …, "display_name": …, "department": …,
    #   "errors": [message, …]}, …], "ignored_columns": [header, …]}
    rows = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    imported_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.file_name}"
