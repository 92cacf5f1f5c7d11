"""A cancelled or merged account is settled to exactly 0 (DESIGN.md §6), but earlier versions left
some non-zero: a settlement that charged only the latest month (a later catch-up then charged
an older one), point moves that raced the cancellation, demo data charged after it ended. Each
is settled now as the cancellation would have: a positive balance forfeited
(`settlement_forfeit`), a negative one topped up from the MSP's pool (`settlement_topup`), with
the key `settle:<customer>` (`settle:<customer>:migration` when a settlement already used it),
each audited."""

from django.db import migrations

from points.migrations._posting import lock_customers_and_accounts, post

ENDED_STATUSES = ("cancelled", "merged")


def settle_ended_accounts(apps, schema_editor):
    CustomerAccount = apps.get_model("accounts", "CustomerAccount")
    LedgerAccount = apps.get_model("points", "LedgerAccount")
    Transfer = apps.get_model("points", "Transfer")
    unsettled = list(
        LedgerAccount.objects.filter(kind="wallet", customer__status__in=ENDED_STATUSES)
        .exclude(balance=0)
        .order_by("pk")
        .values_list("pk", "customer_id")
    )
    if not unsettled:
        return
    customers = CustomerAccount.objects.in_bulk([c for _w, c in unsettled])
    pools = dict(
        LedgerAccount.objects.filter(
            kind="pool", retired_into__isnull=True, organization_id__in={c.organization_id for c in customers.values()}
        ).values_list("organization_id", "pk")
    )
    for organization_id in {c.organization_id for c in customers.values()} - set(pools):
        # An MSP that never bought points has no pool yet; a top-up needs one.
        pools[organization_id] = LedgerAccount.objects.create(kind="pool", organization_id=organization_id).pk
    consumed, _created = LedgerAccount.objects.get_or_create(kind="consumed")
    used_keys = set(
        Transfer.objects.filter(idempotency_key__in=[f"settle:{c}" for _w, c in unsettled]).values_list(
            "idempotency_key", flat=True
        )
    )
    # The lock order: customer rows, pools and wallets, then the system account.
    locked = lock_customers_and_accounts(apps, customers, [*(w for w, _c in unsettled), *pools.values()])
    locked_consumed = LedgerAccount.objects.select_for_update().get(pk=consumed.pk)
    for wallet_id, customer_id in unsettled:
        customer = customers[customer_id]
        wallet = locked[wallet_id]
        left = wallet.balance
        key = f"settle:{customer.pk}"
        post(
            apps,
            kind="settlement_forfeit" if left > 0 else "settlement_topup",
            debit=wallet if left > 0 else locked[pools[customer.organization_id]],
            credit=locked_consumed if left > 0 else wallet,
            amount=abs(left),
            idempotency_key=f"{key}:migration" if key in used_keys else key,
            customer=customer,
            action="points.settle_ended_account",
            memo="settlement of an account that ended with points left",
            audit_after={"before": left, "status": customer.status},
        )


class Migration(migrations.Migration):
    dependencies = [("points", "0006_return_application_points")]

    operations = [migrations.RunPython(settle_ended_accounts, migrations.RunPython.noop, elidable=False)]
