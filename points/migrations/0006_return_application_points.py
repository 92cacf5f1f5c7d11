"""Applications hold no points (DESIGN.md §5.1): what the wallets of applications awaiting
approval, returned or withdrawn already hold goes back to their MSP's pool, as ending an
application now does (points.services.points_return_from_application): a positive balance by a
`settlement_refund`, a negative one made good by a `settlement_topup`, keyed by the status
change the account is in (`refund:<customer>:<status change>`), each audited."""

from django.db import migrations
from django.db.models import OuterRef, Subquery

from points.migrations._posting import lock_customers_and_accounts, post

APPLICATION_STATUSES = ("pending_approval", "rejected", "withdrawn")


def return_application_points(apps, schema_editor):
    CustomerAccount = apps.get_model("accounts", "CustomerAccount")
    CustomerStatusChange = apps.get_model("accounts", "CustomerStatusChange")
    LedgerAccount = apps.get_model("points", "LedgerAccount")
    holding = list(
        LedgerAccount.objects.filter(kind="wallet", customer__status__in=APPLICATION_STATUSES)
        .exclude(balance=0)
        .order_by("pk")
        .values_list("pk", "customer_id")
    )
    if not holding:
        return
    customers = {
        customer.pk: customer
        for customer in CustomerAccount.objects.filter(pk__in=[c for _w, c in holding]).annotate(
            change_id=Subquery(
                CustomerStatusChange.objects.filter(customer=OuterRef("pk"))
                .order_by("-created_at", "-id")
                .values("id")[:1]
            )
        )
    }
    pools = dict(
        LedgerAccount.objects.filter(
            kind="pool", retired_into__isnull=True, organization_id__in={c.organization_id for c in customers.values()}
        ).values_list("organization_id", "pk")
    )
    # Points reached these wallets from their MSP's pool, so each has one.
    locked = lock_customers_and_accounts(apps, customers, [*(w for w, _c in holding), *pools.values()])
    for wallet_id, customer_id in holding:
        customer = customers[customer_id]
        wallet, pool = locked[wallet_id], locked[pools[customer.organization_id]]
        held = wallet.balance
        post(
            apps,
            kind="settlement_refund" if held > 0 else "settlement_topup",
            debit=wallet if held > 0 else pool,
            credit=pool if held > 0 else wallet,
            amount=abs(held),
            idempotency_key=f"refund:{customer.pk}:{customer.change_id or 0}",
            customer=customer,
            action="points.application_refund",
            memo="application points returned to the pool",
            audit_after={"before": held, "status": customer.status},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_points_on_wallet"),
        ("audit", "0002_actor_index_append_only"),
        ("points", "0005_settlement_refund_kind"),
    ]

    operations = [migrations.RunPython(return_application_points, migrations.RunPython.noop, elidable=False)]
