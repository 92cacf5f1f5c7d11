"""Demo pools and balances, made through the real services so the ledger is sound."""

from __future__ import annotations

from accounts.models import User
from customers.models import CustomerAccount
from msp_portal.permissions import Role

from . import purchase_requests, services
from .estimates import refresh_estimates
from .models import LedgerAccount, Transfer

# Points each demo MSP bought from the distributor (order references as a distributor issues them).
PURCHASES = {"pmsp": (50_000, "DIST-2026-0001"), "msp": (8_000, "DIST-2026-0002"), "other": (3_000, "DIST-2026-0003")}
# What each demo pool keeps after the demo's allocations: the seed's step 5 (必要なポイントを追加)
# for a new customer at its most generous, five years of a 100-user contract (100 points a month
# under the default rule), so a new account can be given its points straight away.
NEW_CUSTOMER_POINTS = 100 * 12 * 5
# The operator's queue starts with one open ポイント購入申請, from the MSP's admin.
OPEN_REQUEST = {"msp": (20_000, "MSP-PO-2026-0042", "来月の新規顧客3社分の追加購入です。")}


def seed(*, command, organizations, options) -> None:
    for key, (amount, order_reference) in PURCHASES.items():
        services.points_purchase(
            actor=None,
            organization=organizations[key],
            amount=amount,
            order_reference=order_reference,
            idempotency_key=f"demo:purchase:{key}",
        )
    customers = list(
        CustomerAccount.objects.filter(organization__in=[organizations[k] for k in PURCHASES]).order_by("pk")
    )
    for index, customer in enumerate(customers):
        # Applications hold no points and ended accounts were settled to 0 (DESIGN.md §5.1).
        if (
            not customer.points_changeable
            or Transfer.objects.filter(idempotency_key=f"demo:allocate:{customer.pk}").exists()
        ):
            continue
        # One month of points for most; a few get less than the next charge (a shortage the
        # estimate column shows) and every fifth is taken below zero (DESIGN.md §5.2).
        month = customer.contracted_users if customer.contracted_users > 10 else 10
        amount = month * (12 if index % 3 == 0 else 1) if index % 4 else max(1, month // 2)
        try:
            services.points_allocate(
                actor=None, customer=customer, amount=amount, idempotency_key=f"demo:allocate:{customer.pk}"
            )
        except services.PoolShortage:
            continue  # the demo pool is spent: the remaining accounts show a shortage
        if index % 5 == 4:
            services.points_withdraw(
                actor=None,
                customer=customer,
                amount=amount + month // 3 + 1,
                idempotency_key=f"demo:withdraw:{customer.pk}",
                allow_negative=True,
            )
    for key in PURCHASES:
        _keep_for_a_new_customer(organizations[key], key)
    for key, (amount, order_reference, note) in OPEN_REQUEST.items():
        requester = User.objects.filter(
            membership__organization=organizations[key], membership__role=Role.ADMIN, is_active=True
        ).first()
        purchase_requests.purchase_request_create(
            actor=requester,
            organization=organizations[key],
            amount=amount,
            order_reference=order_reference,
            note=note,
            idempotency_key=f"demo:purchase-request:{key}",
        )
    refresh_estimates()
    command.stdout.write(f"Points: pools for {len(PURCHASES)} MSPs, balances for {len(customers)} customers.")


def _keep_for_a_new_customer(organization, key: str) -> None:
    """Top the pool up to NEW_CUSTOMER_POINTS by another purchase when the allocations spent it
    below that (on a re-run too: it allocates to the accounts that have none yet)."""
    earlier = Transfer.objects.filter(idempotency_key__startswith=f"demo:purchase:{key}:reserve:").count()
    idempotency_key = f"demo:purchase:{key}:reserve:{earlier + 1}"
    balance = LedgerAccount.objects.pools().get(organization=organization).balance
    if balance < NEW_CUSTOMER_POINTS:
        services.points_purchase(
            actor=None,
            organization=organization,
            amount=NEW_CUSTOMER_POINTS - balance,
            order_reference=f"{PURCHASES[key][1]}-{earlier + 2}",
            idempotency_key=idempotency_key,
        )
