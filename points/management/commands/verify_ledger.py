"""`manage.py verify_ledger`: check every invariant of the points ledger (DESIGN.md §5.1)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from msp_portal.observability import record_ledger_check
from points.selectors import LEDGER_CHECKS, REPORT_LIMIT, ledger_problems


class Command(BaseCommand):
    help = (
        "Check the points ledger: every stored balance equals the sum of its transfers, all balances sum "
        "to zero, no account is charged twice for a month, the customer list's points equal the wallets, and "
        "every pool's and wallet's sequence and balance-after chain is unbroken, only accounts whose points may "
        "move (provisioning, provisioning failed, active) hold any, and no charge was posted after a "
        "settlement. Exits with status 1 on any drift, listing it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="Print nothing when the ledger is sound.")

    def handle(self, *args, quiet: bool = False, **options):
        problems = ledger_problems()
        # The result for /metrics (portal_ledger_problems), whoever ran the check.
        record_ledger_check(len(problems))
        if not problems:
            if not quiet:
                self.stdout.write(self.style.SUCCESS(f"The ledger is sound ({len(LEDGER_CHECKS)} checks passed)."))
            return
        by_check: dict[str, list[str]] = {}
        for problem in problems:
            by_check.setdefault(problem.check, []).append(problem.message)
        self.stderr.write(self.style.ERROR(f"The ledger has drifted: {len(problems)} problem(s) found."))
        for check, messages in by_check.items():
            self.stderr.write(f"[{check}]")
            for message in messages:
                self.stderr.write(f"  - {message}")
            if len(messages) >= REPORT_LIMIT:
                self.stderr.write(f"  (only the first {REPORT_LIMIT} are listed)")
        raise SystemExit(1)
