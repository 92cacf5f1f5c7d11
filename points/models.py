"""The points ledger: double-entry, append-only (DESIGN.md §5.1).

Points move FROM a transfer's `debit_account` TO its `credit_account`: the debit side's balance
goes down by `amount`, the credit side's goes up. Issuance therefore runs negative (every point
ever sold), `consumed` positive, and all balances together always sum to zero.
"""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LedgerAccountKind(models.TextChoices):
    POOL = "pool", _("MSP point pool")
    WALLET = "wallet", _("Customer wallet")
    ISSUANCE = "issuance", _("Issuance")
    CONSUMED = "consumed", _("Consumed")


SYSTEM_KINDS = (LedgerAccountKind.ISSUANCE, LedgerAccountKind.CONSUMED)


class LedgerAccountQuerySet(models.QuerySet):
    def pools(self) -> LedgerAccountQuerySet:
        """The MSPs' live pools: one per MSP organization (`ledger_one_pool_per_msp`). A pool
        retired into another (points 0004, which merged pools that a race had split) is never
        found here, so no code path can post to it or read it as the MSP's pool."""
        return self.filter(kind=LedgerAccountKind.POOL, retired_into__isnull=True)


class LedgerAccount(models.Model):
    kind = models.CharField(_("kind"), max_length=10, choices=LedgerAccountKind.choices)
    organization = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_accounts",
        db_index=False,
    )
    customer = models.OneToOneField(
        "customers.CustomerAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="wallet"
    )
    # Kept equal to the sum of the account's transfers, in the same transaction as each transfer.
    balance = models.BigIntegerField(_("balance"), default=0)
    # The sequence number of the account's latest transfer (pools and wallets only).
    last_seq = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    # Wallets only: what the customer list sorts and filters on beside the balance. A wallet is
    # opened with its customer (`ledger.open_wallet`), so every customer has exactly one. The
    # estimate 「M/25の推定残ポイント数」 lives here rather than on the customer row so that a
    # charge rewrites one narrow row instead of the customer's (28 indexes, a trigram index):
    # at a million accounts that is the difference between minutes and seconds (DESIGN.md §12).
    estimated_balance = models.BigIntegerField(_("estimated points after the next 25th"), null=True, blank=True)
    # A copy of the customer's MSP (changed only with it, by a transfer to another MSP: merges),
    # so that the MSP-scoped sorts by points are served by these indexes.
    msp = models.ForeignKey(
        "accounts.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # Pools only: the live pool this one was merged into. A retired pool keeps its transfers and
    # holds 0 points (ledger_retired_pool_empty), and the one-pool constraint ignores it.
    retired_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )

    objects = LedgerAccountQuerySet.as_manager()

    class Meta:
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        constraints = [
            models.CheckConstraint(name="ledger_account_kind_valid", condition=Q(kind__in=LedgerAccountKind.values)),
            models.CheckConstraint(
                name="ledger_account_owner_by_kind",
                condition=(
                    Q(kind=LedgerAccountKind.POOL, organization__isnull=False, customer__isnull=True)
                    | Q(
                        kind=LedgerAccountKind.WALLET,
                        customer__isnull=False,
                        organization__isnull=True,
                        msp__isnull=False,
                        estimated_balance__isnull=False,
                    )
                    | Q(kind__in=SYSTEM_KINDS, organization__isnull=True, customer__isnull=True)
                ),
            ),
            # One live pool per MSP, in the database: concurrent creators cannot split an MSP's
            # points over two pools (a unique index that PostgreSQL checks; see docs/architecture.md).
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(kind=LedgerAccountKind.POOL, retired_into__isnull=True),
                name="ledger_one_pool_per_msp",
            ),
            models.CheckConstraint(
                name="ledger_retired_pool_empty",
                condition=Q(retired_into__isnull=True) | Q(kind=LedgerAccountKind.POOL, balance=0),
            ),
            models.UniqueConstraint(
                fields=["kind"], condition=Q(kind__in=SYSTEM_KINDS), name="ledger_one_system_account"
            ),
        ]
        # The customer list's points columns: sorts by current points and by the estimate (MSP
        # scope and all). Each ends in `customer` (= the customer's id) for the list's stable
        # tie-breaker. The "shortage expected" filter under the default sort walks the customer's
        # registration index and probes each wallet (partial indexes here went unused).
        indexes = [
            models.Index(fields=["msp", "balance", "customer"], name="wallet_msp_points"),
            models.Index(fields=["balance", "customer"], name="wallet_points"),
            models.Index(fields=["msp", "estimated_balance", "customer"], name="wallet_msp_estimate"),
            models.Index(fields=["estimated_balance", "customer"], name="wallet_estimate"),
        ]

    def __str__(self) -> str:
        if self.kind == LedgerAccountKind.POOL:
            return f"pool:{self.organization_id}"
        if self.kind == LedgerAccountKind.WALLET:
            return f"wallet:{self.customer_id}"
        return self.kind


class TransferKind(models.TextChoices):
    PURCHASE = "purchase", _("Purchase")
    ALLOCATE = "allocate", _("Added")
    WITHDRAW = "withdraw", _("Removed")
    CONSUMPTION = "consumption", _("Monthly consumption")
    SETTLEMENT_TOPUP = "settlement_topup", _("Cancellation top-up")
    SETTLEMENT_FORFEIT = "settlement_forfeit", _("Cancellation forfeit")
    # An application that ends (withdrawn, returned) gives what its wallet holds back to the pool.
    SETTLEMENT_REFUND = "settlement_refund", _("Returned to the pool")
    MERGE = "merge", _("Merge")
    ADJUSTMENT = "adjustment", _("Adjustment")


class TransferQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Transfers are append-only: correct a mistake with a reversing transfer.")

    def delete(self):
        raise TypeError("Transfers are append-only: correct a mistake with a reversing transfer.")


class Transfer(models.Model):
    # Indexed by the (account, seq) indexes below, which lead with the account.
    debit_account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="debits", db_index=False)
    credit_account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="credits", db_index=False)
    amount = models.BigIntegerField(_("points"))
    kind = models.CharField(_("kind"), max_length=20, choices=TransferKind.choices)
    # The customer the transfer concerns (its wallet is one side), for statements and audit.
    # No database foreign key: its check locks the (wide) customer row of every transfer, a
    # quarter of the monthly run at a million accounts; the wallet side's key already ties the
    # transfer to its customer, and `manage.py verify_ledger` checks the two agree.
    customer = models.ForeignKey(
        "customers.CustomerAccount",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transfers",
        db_constraint=False,
        db_index=False,
    )
    # "YYYY-MM" for consumption: the month whose 25th it pays.
    period = models.CharField(_("period"), max_length=7, blank=True, default="")
    memo = models.TextField(_("memo"), blank=True, default="")
    order_reference = models.CharField(_("order reference"), max_length=100, blank=True, default="")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    # Unique through Meta.constraints (a plain unique index, without the LIKE index that
    # `unique=True` adds on PostgreSQL: the key is only ever looked up whole).
    idempotency_key = models.CharField(max_length=200)
    # A fingerprint of the request that used the key: the same key with another payload is refused.
    request_hash = models.CharField(max_length=64, blank=True, default="")
    # Per-side sequence numbers and balances after this transfer (pools and wallets; NULL on
    # the system accounts, whose single hot row would otherwise serialise every charge).
    debit_seq = models.BigIntegerField(null=True, blank=True)
    debit_balance_after = models.BigIntegerField(null=True, blank=True)
    credit_seq = models.BigIntegerField(null=True, blank=True)
    credit_balance_after = models.BigIntegerField(null=True, blank=True)
    # Consumption inputs (contracted users, rule id, base, included users, per-user points); a
    # merge's two customers (absorbed, survivor) and their codes.
    snapshot = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    # At most one reversal per transfer (a partial unique index: most transfers reverse nothing).
    reverses = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversals", db_index=False
    )

    objects = TransferQuerySet.as_manager()

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        constraints = [
            models.CheckConstraint(name="transfer_amount_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(name="transfer_sides_differ", condition=~Q(debit_account=F("credit_account"))),
            models.CheckConstraint(name="transfer_kind_valid", condition=Q(kind__in=TransferKind.values)),
            # A merge carries both customers: `customer` is the absorbed account, the snapshot's
            # `survivor` the account it was merged into (a snapshot, not a column, as for a
            # consumption's inputs: the ledger's data migrations build their data on this schema).
            models.CheckConstraint(
                name="transfer_merge_customers",
                condition=~Q(kind=TransferKind.MERGE) | Q(customer__isnull=False, snapshot__has_key="survivor"),
            ),
            # A second charge of the same wallet for the same month is impossible in the database.
            models.UniqueConstraint(
                fields=["debit_account", "period"],
                condition=Q(kind=TransferKind.CONSUMPTION),
                name="transfer_one_consumption_per_wallet_period",
            ),
            models.UniqueConstraint(fields=["idempotency_key"], name="transfer_idempotency_key"),
            models.UniqueConstraint(
                fields=["reverses"], condition=Q(reverses__isnull=False), name="transfer_reversed_once"
            ),
        ]
        indexes = [
            models.Index(fields=["debit_account", "debit_seq"], name="transfer_debit_seq"),
            # Sides on a system account have no sequence (a consumption's credit side): not indexed.
            models.Index(
                fields=["credit_account", "credit_seq"],
                condition=Q(credit_seq__isnull=False),
                name="transfer_credit_seq",
            ),
            models.Index(fields=["customer", "created_at"], name="transfer_customer_time"),
            # An account's statement, newest first, one side at a time (points.selectors merges
            # the two sides' first rows): with and without the kind filter, and a date range.
            models.Index(fields=["debit_account", "-created_at", "-id"], name="transfer_debit_time"),
            models.Index(fields=["credit_account", "-created_at", "-id"], name="transfer_credit_time"),
            models.Index(fields=["debit_account", "kind", "-created_at", "-id"], name="transfer_debit_kind_time"),
            models.Index(fields=["credit_account", "kind", "-created_at", "-id"], name="transfer_credit_kind_time"),
            # "Charged for a period?" is asked of the (wallet, period) unique index above.
            # Users are deactivated rather than deleted; this serves the PROTECT check if one is.
            models.Index(fields=["actor"], condition=Q(actor__isnull=False), name="transfer_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.debit_account_id}→{self.credit_account_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("Transfers are append-only: correct a mistake with a reversing transfer.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Transfers are append-only: correct a mistake with a reversing transfer.")


class ConsumptionRule(models.Model):
    """What an account consumes on each 25th from `effective_from` on (DESIGN.md §5.3):
    base_points + max(0, contracted_users − included_users) × points_per_extra_user."""

    effective_from = models.DateField(_("effective from"), unique=True)
    base_points = models.PositiveIntegerField(_("base points"))
    included_users = models.PositiveIntegerField(_("users included in the base"))
    points_per_extra_user = models.PositiveIntegerField(_("points per additional user"))
    memo = models.TextField(_("memo"), blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("consumption rule")
        verbose_name_plural = _("consumption rules")
        ordering = ["-effective_from"]

    def __str__(self) -> str:
        return f"{self.effective_from}: {self.base_points}+max(0,n-{self.included_users})×{self.points_per_extra_user}"

    def consumption(self, contracted_users: int) -> int:
        """Points an account with `contracted_users` consumes under this rule (points.rules)."""
        from .rules import consumption

        return consumption(self, contracted_users)


class PurchaseRequestStatus(models.TextChoices):
    OPEN = "open", _("Awaiting the operator")
    RECORDED = "recorded", _("Purchase recorded")
    DECLINED = "declined", _("Declined")


class PurchaseRequest(models.Model):
    """ポイント購入申請: an MSP asks the operator for points (when its pool is short). The
    operator records the purchase from it (issuance → the pool, `transfer`) or declines it with
    a reason (points.purchase_requests)."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="point_purchase_requests"
    )
    amount = models.BigIntegerField(_("points"))
    order_reference = models.CharField(_("order reference"), max_length=100)
    note = models.TextField(_("note"), blank=True, default="")
    status = models.CharField(
        _("status"), max_length=10, choices=PurchaseRequestStatus.choices, default=PurchaseRequestStatus.OPEN
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    # The form's token: a double click or a resubmitted POST files one request (unique through
    # Meta.constraints, without the LIKE index of `unique=True`, as Transfer's key).
    idempotency_key = models.CharField(max_length=200)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    decline_reason = models.TextField(_("reason"), blank=True, default="")
    transfer = models.OneToOneField(
        Transfer, null=True, blank=True, on_delete=models.PROTECT, related_name="purchase_request"
    )

    class Meta:
        verbose_name = _("points purchase request")
        verbose_name_plural = _("points purchase requests")
        ordering = ["-requested_at", "-pk"]
        indexes = [models.Index(fields=["status", "requested_at"], name="purchase_request_queue")]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="purchase_request_idempotency_key"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="purchase_request_amount_positive"),
            # Recorded ⇔ it has its purchase; an open request is not closed.
            models.CheckConstraint(
                condition=Q(status=PurchaseRequestStatus.RECORDED, transfer__isnull=False, closed_at__isnull=False)
                | Q(status=PurchaseRequestStatus.DECLINED, transfer__isnull=True, closed_at__isnull=False)
                | Q(status=PurchaseRequestStatus.OPEN, transfer__isnull=True, closed_at__isnull=True),
                name="purchase_request_state",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.organization} {self.amount:,}"

    @property
    def is_open(self) -> bool:
        return self.status == PurchaseRequestStatus.OPEN
