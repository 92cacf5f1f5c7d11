"""Posting transfers from data migrations, with the historical models (a migration must not use
the app's current code, which may have changed since). The same bookkeeping as
`points.ledger.post`: both balances, each tracked side's sequence and balance-after, a wallet's
stored estimate moved by the same delta; and one audit event per transfer, as a service would
write it. Not a migration itself (the loader skips modules whose name starts with "_")."""

from __future__ import annotations

from django.utils import timezone

TRACKED_KINDS = ("pool", "wallet")


def lock_customers_and_accounts(apps, customer_ids, account_ids):
    """The ledger's lock order: the customer rows, then the pools and wallets, in id order.
    Returns the locked ledger accounts by id (the customers are only held)."""
    CustomerAccount = apps.get_model("accounts", "CustomerAccount")
    LedgerAccount = apps.get_model("points", "LedgerAccount")
    list(CustomerAccount.objects.select_for_update().filter(pk__in=sorted(customer_ids)).order_by("pk").values("pk"))
    return {
        account.pk: account
        for account in LedgerAccount.objects.select_for_update().filter(pk__in=sorted(account_ids)).order_by("pk")
    }


def post_transfer(apps, *, kind, debit, credit, amount, idempotency_key, memo="", customer_id=None, now=None):
    """Move `amount` (> 0) from `debit` to `credit` (locked, current copies, updated in place),
    with the bookkeeping of `points.ledger.post`; no audit event."""
    LedgerAccount = apps.get_model("points", "LedgerAccount")
    Transfer = apps.get_model("points", "Transfer")
    fields = {}
    for side, account, delta in (("debit", debit, -amount), ("credit", credit, amount)):
        account.balance += delta
        update = {"balance": account.balance}
        if account.kind in TRACKED_KINDS:
            account.last_seq += 1
            update["last_seq"] = account.last_seq
            fields[f"{side}_seq"] = account.last_seq
            fields[f"{side}_balance_after"] = account.balance
        if account.kind == "wallet":
            account.estimated_balance += delta
            update["estimated_balance"] = account.estimated_balance
        LedgerAccount.objects.filter(pk=account.pk).update(**update)
    return Transfer.objects.create(
        kind=kind,
        debit_account_id=debit.pk,
        credit_account_id=credit.pk,
        amount=amount,
        idempotency_key=idempotency_key,
        customer_id=customer_id,
        memo=memo,
        created_at=now or timezone.now(),
        **fields,
    )


def post(apps, *, kind, debit, credit, amount, idempotency_key, customer, action, memo, audit_after):
    """`post_transfer`, audited against `customer` (a historical CustomerAccount)."""
    AuditEvent = apps.get_model("audit", "AuditEvent")
    now = timezone.now()
    transfer = post_transfer(
        apps,
        kind=kind,
        debit=debit,
        credit=credit,
        amount=amount,
        idempotency_key=idempotency_key,
        memo=memo,
        customer_id=customer.pk,
        now=now,
    )
    AuditEvent.objects.create(
        created_at=now,
        actor_label="migration",
        channel="migration",
        organization_id=customer.organization_id,
        action=action,
        object_type="points.Transfer",
        object_id=str(transfer.pk),
        object_repr=f"{kind} {amount} {debit.pk}→{credit.pk}"[:300],
        customer_id=customer.pk,
        after={"transfer": transfer.pk, "kind": kind, "amount": amount, **audit_after},
    )
    return transfer
