"""API keys (hashed at rest, shown once: djangorestframework-api-key) and the answers kept for
Idempotency-Key replays."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey


class ApiKey(AbstractAPIKey):
    """An organization's key. It acts as its organization with the intersection of its scopes
    and its creator's role (api.scopes). The secret is never stored: only its SHA-512 (the
    library's hasher for high-entropy keys), looked up by its 8-character prefix."""

    organization = models.ForeignKey(
        "accounts.Organization", verbose_name=_("organization"), on_delete=models.PROTECT, related_name="api_keys"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    scopes = models.JSONField(_("scopes"), default=list)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(_("last used from"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created"]
        indexes = [models.Index(fields=["organization", "-created"], name="apikey_org_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def label(self) -> str:
        """How the audit trail names the key as an actor."""
        return f"API key {self.name} ({self.prefix})"[:254]

    @property
    def is_usable(self) -> bool:
        return not self.revoked and not self.has_expired


class IdempotencyRecord(models.Model):
    """The first answer to a state-changing request sent with an Idempotency-Key, per key: the
    same key with the same request gets it again, with another request a 422. The row is
    created before the work and locked while it runs, so concurrent repeats wait for the first
    one and replay its answer."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_per_api_key")]

    def __str__(self) -> str:
        return self.key
