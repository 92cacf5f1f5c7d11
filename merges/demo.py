"""Demo data for merges and transfers (idempotent): in each demo MSP two active accounts share a
primary e-mail domain (a merge suggestion on its dashboard), and one pending request goes each
way between 大阪ITサービス and 北海道ネットワークス: a merge asked by the first, a transfer asked
by the second."""

from __future__ import annotations

from accounts.models import User
from customers.models import CustomerAccount, CustomerStatus
from customers.search import customer_search_text
from msp_portal.errors import DomainError

from .models import MergeSearch
from .services import merge_request_create, transfer_request_create


def _active(organization) -> list[CustomerAccount]:
    return list(
        CustomerAccount.objects.filter(organization=organization, status=CustomerStatus.ACTIVE).order_by("id")[:4]
    )


def _suggestion_pair(accounts: list[CustomerAccount]) -> None:
    """The MSP's first two active accounts get one primary e-mail domain (the first's)."""
    first, second = accounts[0], accounts[1]
    if second.email_domain != first.email_domain:
        second.email_domain = first.email_domain
        second.search_text = customer_search_text(second)
        second.save(update_fields=["email_domain", "search_text", "updated_at"])


def seed(*, command, organizations, options) -> None:
    active = {key: _active(organizations[key]) for key in ("pmsp", "msp", "other") if key in organizations}
    for accounts in active.values():
        if len(accounts) >= 2:
            _suggestion_pair(accounts)
    msp_admin = User.objects.filter(email="msp-admin@example.com").first()
    other_admin = User.objects.filter(email="other-msp-admin@example.com").first()
    mine, theirs = active.get("msp", []), active.get("other", [])
    if msp_admin is None or other_admin is None or len(mine) < 4 or len(theirs) < 4:
        return
    made = 0
    try:
        # 大阪ITサービス found the other MSP's account by its code (the search it needs).
        MergeSearch.objects.get_or_create(user=msp_admin, query=theirs[2].account_code)[0].found.add(theirs[2])
        merge_request_create(
            actor=msp_admin,
            customer=mine[2],
            other=theirs[2],
            survivor_is_other=False,
            note="同じ会社が両社で別々に契約していたため、当社のアカウントに統合します。",
            idempotency_key="demo:merge-request",
        )
        transfer_request_create(
            actor=other_admin,
            customer=theirs[3],
            to_organization=organizations["msp"],
            note="顧客の本社移転に伴い、大阪ITサービスへ販売店を変更します。",
            idempotency_key="demo:transfer-request",
        )
        made = 2
    except DomainError as exc:
        command.stdout.write(f"  Merge and transfer requests not made: {exc}")
    if made:
        command.stdout.write("Merge and transfer requests: one pending each way between the demo MSPs.")
