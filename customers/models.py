"""Customer accounts (顧客アカウント) and their histories: who moved an account from which status
to which, and every change of its contracted users (DESIGN.md §3, §4).

Nothing here is ever hard-deleted: an account ends in a terminal status and may be archived. The
tables keep the names they had when these models lived in `accounts` (`db_table`), so moving the
models changed no schema. The statuses' meaning (which sets exist, which transitions) is
`customers.lifecycle`.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization, User

from .lifecycle import APPROVAL_QUEUE_STATUSES, POINTS_STATUSES, TERMINAL_STATUSES, CustomerStatus

CONTRACTED_USERS_MAX = 1_000_000
ACCOUNT_CODE_VALIDATOR = RegexValidator(
    r"^[a-z0-9-]{3,40}\Z",
    _("Use 3 to 40 characters: lowercase letters, digits and hyphens."),
)


class Industry(models.TextChoices):
    MANUFACTURING = "manufacturing", _("Manufacturing")
    IT = "it", _("Information and communications")
    FINANCE = "finance", _("Finance and insurance")
    RETAIL = "retail", _("Wholesale and retail")
    CONSTRUCTION = "construction", _("Construction")
    MEDICAL = "medical", _("Medical and welfare")
    EDUCATION = "education", _("Education")
    PUBLIC = "public", _("Public sector")
    SERVICES = "services", _("Services")
    OTHER = "other", _("Other")


class CompanySize(models.TextChoices):
    S1_49 = "1-49", _("1–49 employees")
    S50_299 = "50-299", _("50–299 employees")
    S300_999 = "300-999", _("300–999 employees")
    S1000_4999 = "1000-4999", _("1,000–4,999 employees")
    S5000 = "5000+", _("5,000 employees or more")


class CustomerAccountQuerySet(models.QuerySet):
    def with_points(self) -> CustomerAccountQuerySet:
        """Annotate `points_balance` and `estimated_balance` from the wallet (every customer has
        one). A LEFT JOIN on the wallet's unique key: PostgreSQL drops it from any query that does
        not use its columns (the list's late row look-up, customers.views)."""
        return self.annotate(points_balance=F("wallet__balance"), estimated_balance=F("wallet__estimated_balance"))

    def through_wallet(self) -> CustomerAccountQuerySet:
        """The join made inner, stating that the wallet's MSP is the customer's: PostgreSQL then
        carries an `organization_id = X` condition over to `msp_id`, so the sorts by points and
        the shortage filter use the wallet's MSP-led indexes (points.models.LedgerAccount)."""
        return self.filter(wallet__msp_id=F("organization_id"))


class CustomerAccount(models.Model):
    """A customer of an MSP: one tenant of the service (顧客アカウント)."""

    organization = models.ForeignKey(
        Organization, verbose_name=_("MSP"), on_delete=models.PROTECT, related_name="customers"
    )
    # 顧客情報
    account_code = models.CharField(_("account code"), max_length=40, unique=True, validators=[ACCOUNT_CODE_VALIDATOR])
    company_name = models.CharField(_("company name"), max_length=200)
    company_name_kana = models.CharField(_("company name (kana)"), max_length=200, blank=True)
    email_domain = models.CharField(_("primary e-mail domain"), max_length=253)
    country = models.CharField(_("country"), max_length=100, blank=True, default="日本")
    address = models.CharField(_("city / address"), max_length=300, blank=True)
    industry = models.CharField(_("industry"), max_length=20, choices=Industry.choices, blank=True)
    company_size = models.CharField(_("company size"), max_length=20, choices=CompanySize.choices, blank=True)
    contact_name = models.CharField(_("contact name"), max_length=100, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    # 契約ユーザ数
    contracted_users = models.PositiveIntegerField(
        _("contracted users"), validators=[MinValueValidator(1), MaxValueValidator(CONTRACTED_USERS_MAX)]
    )
    # 販売店情報
    reseller_name = models.CharField(_("reseller name"), max_length=200, blank=True)
    reseller_contact_name = models.CharField(_("reseller contact name"), max_length=100, blank=True)
    reseller_contact_email = models.EmailField(_("reseller contact e-mail"), blank=True)
    # Settings
    support_account = models.ForeignKey(
        Organization,
        verbose_name=_("support account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="supported_customers",
    )
    hidden_menus = models.JSONField(_("hidden menus"), default=list, blank=True)
    auto_replenish = models.BooleanField(_("auto-replenish"), default=False)

    # Lifecycle
    status = models.CharField(
        _("status"), max_length=24, choices=CustomerStatus.choices, default=CustomerStatus.PENDING_APPROVAL
    )
    cancellation_date = models.DateField(_("cancellation date"), null=True, blank=True)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)
    registered_at = models.DateTimeField(_("registered at"), default=timezone.now)
    # When the application last entered the approval queue (registration or resubmission): the
    # 3-business-day promise is counted from here.
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    registered_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="registered_customers"
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    provisioning_attempts = models.PositiveIntegerField(default=0)
    provisioning_error = models.TextField(blank=True)
    last_delivery_notice_at = models.DateTimeField(_("last delivery notice"), null=True, blank=True)

    # The points (balance and the 25th estimate) live on the customer's wallet, opened with the
    # account: `CustomerAccount.objects.with_points()` reads them as `points_balance` and
    # `estimated_balance` (DESIGN.md §5.4, §12; points.models.LedgerAccount).
    suspended_at = models.DateTimeField(_("suspended since"), null=True, blank=True)

    # Lowercased NFKC text of the searchable fields, so full-width and half-width forms match.
    search_text = models.TextField(default="", editable=False)

    objects = CustomerAccountQuerySet.as_manager()

    class Meta:
        db_table = "accounts_customeraccount"
        verbose_name = _("customer account")
        verbose_name_plural = _("customer accounts")
        constraints = [
            models.CheckConstraint(
                name="customer_contracted_users_range",
                condition=Q(contracted_users__gte=1) & Q(contracted_users__lte=CONTRACTED_USERS_MAX),
            ),
            models.CheckConstraint(name="customer_status_valid", condition=Q(status__in=CustomerStatus.values)),
        ]
        # Every sortable list column has an index led by the organization (MSP staff) and one
        # without it (operator), each ending in `id` so that the list's stable tie-breaker is
        # served too (DESIGN.md §12). The trigram index over `search_text` is PostgreSQL-only
        # and lives in migration 0002_customers_list_indexes.
        indexes = [
            models.Index(fields=["organization", "registered_at", "id"], name="customer_org_registered"),
            models.Index(fields=["registered_at", "id"], name="customer_registered"),
            models.Index(fields=["organization", "account_code"], name="customer_org_code"),
            models.Index(fields=["organization", "status", "id"], name="customer_org_status"),
            models.Index(fields=["status", "id"], name="customer_status"),
            models.Index(fields=["organization", "contracted_users", "id"], name="customer_org_users"),
            models.Index(fields=["contracted_users", "id"], name="customer_users"),
            models.Index(fields=["organization", "cancellation_date", "id"], name="customer_org_cancel_date"),
            models.Index(fields=["cancellation_date", "id"], name="customer_cancel_date"),
            models.Index(fields=["organization", "support_account", "id"], name="customer_org_support"),
            models.Index(fields=["support_account", "id"], name="customer_support"),
            models.Index(fields=["organization", "reseller_name", "id"], name="customer_org_reseller"),
            models.Index(fields=["reseller_name", "id"], name="customer_reseller"),
            models.Index(fields=["organization", "id"], name="customer_org_id"),
            # The points columns' sorts and the shortage filter are served by the wallet's indexes.
            # The approval queue: oldest application first.
            models.Index(fields=["status", "submitted_at", "id"], name="customer_status_submitted"),
            # The operator's queue spans four statuses: one ordered range instead of four merged.
            models.Index(
                fields=["submitted_at", "id"],
                condition=Q(status__in=APPROVAL_QUEUE_STATUSES),
                name="customer_queue_submitted",
            ),
            models.Index(
                fields=["organization", "submitted_at", "id"],
                condition=Q(status__in=APPROVAL_QUEUE_STATUSES),
                name="customer_org_queue_submitted",
            ),
            # The daily run's suspension step (billing_jobs.services.update_suspensions): who may
            # be suspended, who is. Narrow, and written only when those states change; each saves
            # a pass over the wide table (0.5 s at a million accounts).
            models.Index(
                fields=["id"],
                condition=Q(status=CustomerStatus.ACTIVE, suspended_at__isnull=True),
                name="customer_active_unsuspended",
            ),
            models.Index(fields=["id"], condition=Q(suspended_at__isnull=False), name="customer_suspended"),
            # The list's bounded count (customers.listing.bounded_count) of the default view, which
            # hides archived accounts: an index-only walk of the live ids, led by the MSP for MSP
            # staff (2 ms instead of 35 ms for 10,001 ids of a 250,000-account MSP).
            models.Index(
                fields=["organization", "id"], condition=Q(archived_at__isnull=True), name="customer_org_live"
            ),
            models.Index(fields=["id"], condition=Q(archived_at__isnull=True), name="customer_live"),
            # Merge suggestions (active accounts sharing a primary e-mail domain): the MSP's
            # dashboard groups its accounts by domain; the detail page and the merge search look a
            # domain up across the MSPs.
            models.Index(
                fields=["organization", "email_domain", "id"],
                condition=Q(status=CustomerStatus.ACTIVE),
                name="customer_org_active_domain",
            ),
            models.Index(
                fields=["email_domain", "id"], condition=Q(status=CustomerStatus.ACTIVE), name="customer_active_domain"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.company_name} ({self.account_code})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def points_changeable(self) -> bool:
        return self.status in POINTS_STATUSES


class CustomerStatusChange(models.Model):
    """One lifecycle transition: who moved the account from what to what, when and why."""

    customer = models.ForeignKey(CustomerAccount, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=24, choices=CustomerStatus.choices, blank=True)
    to_status = models.CharField(max_length=24, choices=CustomerStatus.choices)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        db_table = "accounts_customerstatuschange"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_status or '-'} → {self.to_status}"


class ContractChange(models.Model):
    """A change of contracted users; the count in force at any moment is the latest row whose
    `effective_at` is not after it (the monthly job reads it as of each 25th)."""

    customer = models.ForeignKey(CustomerAccount, on_delete=models.PROTECT, related_name="contract_changes")
    old_users = models.PositiveIntegerField(null=True, blank=True)
    new_users = models.PositiveIntegerField()
    effective_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "accounts_contractchange"
        ordering = ["effective_at", "id"]
        indexes = [models.Index(fields=["customer", "effective_at"], name="contract_change_customer_eff")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.old_users} → {self.new_users}"
