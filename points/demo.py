"""Demo pools and balances, made through the real services so the ledger is sound."""

from __future__ import annotations

from customers.models import CustomerAccount

from . import services
from .estimates import refresh_estimates
from .models import Transfer

# Points each demo MSP bought from the distributor (order references as a distributor issues them).
PURCHASES = {"pmsp": (50_000, "DIST-2026-0001"), "msp": (8_000, "DIST-2026-0002"), "other": (3_000, "DIST-2026-0003")}


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
    refresh_estimates()
    command.stdout.write(f"Points: pools for {len(PURCHASES)} MSPs, balances for {len(customers)} customers.")
