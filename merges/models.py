"""Merge and transfer requests (DESIGN.md §11; the seed 003's アカウント統合申請 and Partner
Center's partner switch), the merge suggestions an MSP dismissed, and the searches of other
MSPs' accounts (limited per user and day). Nothing here is deleted: a request ends in a decided
status and stays as the record of who asked, who decided and what the execution did.
"""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class RequestKind(models.TextChoices):
    MERGE = "merge", _("Merge")
    TRANSFER = "transfer", _("Transfer to another MSP")


class RequestStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("merge or transfer request", "Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", pgettext_lazy("merge or transfer request", "Withdrawn")
    EXPIRED = "expired", _("Expired")


DECIDED_STATUSES = (RequestStatus.APPROVED, RequestStatus.REJECTED, RequestStatus.CANCELLED, RequestStatus.EXPIRED)


class AccountRequest(models.Model):
    """A merge (`customer` is absorbed into `survivor`) or a transfer (`customer` moves from
    `from_organization` to `to_organization`), waiting for the other side's decision.

    The deciding side is `deciding_organization`: for a merge the MSP of the account that is not
    the requester's (the requester's own MSP when both are, where a different admin decides),
    for a transfer the receiving MSP. The operator may decide any request; nobody decides their
    own (merges.services)."""

    kind = models.CharField(_("kind"), max_length=10, choices=RequestKind.choices)
    status = models.CharField(_("status"), max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    requesting_organization = models.ForeignKey(
        "accounts.Organization", verbose_name=_("requesting organization"), on_delete=models.PROTECT, related_name="+"
    )
    deciding_organization = models.ForeignKey(
        "accounts.Organization", verbose_name=_("deciding organization"), on_delete=models.PROTECT, related_name="+"
    )
    customer = models.ForeignKey(
        "customers.CustomerAccount", verbose_name=_("customer account"), on_delete=models.PROTECT, related_name="+"
    )
    # Merge only: the account that survives (the seed's アカウントオーナー).
    survivor = models.ForeignKey(
        "customers.CustomerAccount",
        verbose_name=_("surviving account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The MSP `customer` belonged to when the request was made; for a transfer, the receiving MSP.
    from_organization = models.ForeignKey(
        "accounts.Organization", verbose_name=_("from MSP"), on_delete=models.PROTECT, related_name="+"
    )
    to_organization = models.ForeignKey(
        "accounts.Organization",
        verbose_name=_("to MSP"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True, default="")
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True, default="")
    # Merge: the approver kept the absorbed account's admins as admins of the survivor.
    keep_admins = models.BooleanField(_("keep the administrators as administrators"), default=False)
    # What the execution did (points moved, users, admins), as its audit event records it.
    result = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    # The form's token: a double click or a resubmitted POST files one request.
    idempotency_key = models.CharField(max_length=200)

    class Meta:
        verbose_name = _("merge or transfer request")
        verbose_name_plural = _("merge and transfer requests")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="account_request_idempotency_key"),
            models.CheckConstraint(name="account_request_kind_valid", condition=Q(kind__in=RequestKind.values)),
            models.CheckConstraint(name="account_request_status_valid", condition=Q(status__in=RequestStatus.values)),
            # A merge names its survivor (another account); a transfer its receiving MSP.
            models.CheckConstraint(
                name="account_request_parties",
                condition=(
                    Q(kind=RequestKind.MERGE, survivor__isnull=False, to_organization__isnull=True)
                    & ~Q(survivor=models.F("customer"))
                )
                | Q(kind=RequestKind.TRANSFER, survivor__isnull=True, to_organization__isnull=False),
            ),
            # Pending ⇔ undecided; a rejection carries its reason.
            models.CheckConstraint(
                name="account_request_decision",
                condition=Q(status=RequestStatus.PENDING, decided_at__isnull=True)
                | (Q(status__in=DECIDED_STATUSES, decided_at__isnull=False) & (~Q(status="rejected") | ~Q(reason=""))),
            ),
            # An account has at most one pending request as the one absorbed or moved, and is the
            # survivor of at most one (the services also refuse a request on an account that is
            # in any pending request, under the accounts' row locks).
            models.UniqueConstraint(
                fields=["customer"], condition=Q(status=RequestStatus.PENDING), name="account_request_one_pending"
            ),
            models.UniqueConstraint(
                fields=["survivor"],
                condition=Q(status=RequestStatus.PENDING),
                name="account_request_one_pending_survivor",
            ),
        ]
        indexes = [
            models.Index(fields=["deciding_organization", "status", "-created_at"], name="account_request_received"),
            models.Index(fields=["requesting_organization", "-created_at"], name="account_request_sent"),
            models.Index(fields=["status", "expires_at"], name="account_request_expiry"),
            models.Index(fields=["survivor"], name="account_request_survivor"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.customer_id} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status == RequestStatus.PENDING

    @property
    def is_merge(self) -> bool:
        return self.kind == RequestKind.MERGE

    @property
    def is_overdue(self) -> bool:
        """Pending past its time: the daily run marks it expired, and it can no longer be approved."""
        return self.is_pending and self.expires_at <= timezone.now()


class DismissedSuggestion(models.Model):
    """A merge suggestion (two active accounts sharing a primary e-mail domain) an MSP dismissed
    for good (提案を削除): the pair, lower id first, for that organization."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    first = models.ForeignKey("customers.CustomerAccount", on_delete=models.PROTECT, related_name="+")
    second = models.ForeignKey("customers.CustomerAccount", on_delete=models.PROTECT, related_name="+")
    dismissed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    dismissed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "first", "second"], name="dismissed_suggestion_once"),
            models.CheckConstraint(name="dismissed_suggestion_ordered", condition=Q(first__lt=models.F("second"))),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.first_id}+{self.second_id}"


class MergeSearch(models.Model):
    """One search for another MSP's account to merge with (by e-mail domain or account code),
    counted against the searcher's daily limit (the seed's 「5回まで検索できます」). The accounts it
    found are the ones the searcher may name in a merge request."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    query = models.CharField(max_length=253)
    searched_at = models.DateTimeField(default=timezone.now)
    found = models.ManyToManyField("customers.CustomerAccount", related_name="+", blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "searched_at"], name="merge_search_user_time")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.query}"
