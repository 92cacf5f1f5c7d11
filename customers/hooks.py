"""What the customer accounts need done or told by the apps above them: the ledger's part of a
lifecycle write (points), the customer's administrators and the contract's floor
(customer_portal), the charges in the audit trail (points). Each hook is
filled by its app's AppConfig.ready (points.apps.PointsConfig, customer_portal.apps), so that
customers imports none of them (the layers of msp_portal/tests/test_layers.py).

A `Hook` that nobody filled raises instead of doing nothing: skipping one would silently skip a
money movement (a settlement, an application's refund) or a lock of the ledger's order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured


class Hook:
    """One function a higher app provides (`provide`); calling the hook calls it."""

    def __init__(self, name: str, provider: str):
        self.name, self.provider = name, provider
        self._function: Callable[..., Any] | None = None

    def provide(self, function: Callable[..., Any]) -> None:
        self._function = function

    def __call__(self, *args, **kwargs):
        if self._function is None:
            raise ImproperlyConfigured(f"customers.hooks.{self.name} is not provided: is {self.provider} installed?")
        return self._function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Hook {self.name}>"


class Listeners:
    """Functions any number of higher apps add (`add`); calling calls each in the order added
    (their apps' order in INSTALLED_APPS) and returns their results. None added is none called."""

    def __init__(self, name: str):
        self.name = name
        self._functions: list[Callable[..., Any]] = []

    def add(self, function: Callable[..., Any]) -> None:
        if function not in self._functions:
            self._functions.append(function)

    def __call__(self, *args, **kwargs) -> list:
        return [function(*args, **kwargs) for function in self._functions]

    def __repr__(self) -> str:
        return f"<Listeners {self.name}>"


# lock_with_ledger(customer_id, *, wallet: bool, pool: bool) -> CustomerAccount: lock the
# account's row and then its wallet (and with `pool` the MSP's pool), in the ledger's one lock
# order (points.ledger), in the caller's transaction; the row as locked.
lock_with_ledger = Hook("lock_with_ledger", "points")
# accounts_changed(queryset, today=None): the status, contracted users or cancellation date of
# these accounts changed; what the ledger derives from them (the stored estimate) follows.
accounts_changed = Hook("accounts_changed", "points")
# wallets_open(customers): open the wallet of each new account, in its creating transaction.
wallets_open = Hook("wallets_open", "points")
# application_ended(*, actor, customer, status_change): an application was withdrawn or
# returned; the points it holds go back to the MSP (the caller locked row, wallet and pool).
application_ended = Hook("application_ended", "points")
# cancellation_settle(*, actor, customer, today, cancellation_date) -> (before, after): charge
# what the cancelled account owes and settle its wallet to 0 (the caller locked row, wallet and
# pool); the points detail its audit event records.
cancellation_settle = Hook("cancellation_settle", "points")
# cancellation_preview(customer, cancellation_date=None) -> dict: what that settlement would
# post, for the 解約 and 解約予定日 popups.
cancellation_preview = Hook("cancellation_preview", "points")
# active_admins(customer_ids) -> {customer id: [admin, ...]}: the customers' active
# administrators, whom the delivery notice names.
active_admins = Hook("active_admins", "customer_portal")

# contract_checks(customer, contracted_users): before the contracted users change, each may
# refuse with DomainError (customer_portal: not fewer than the active service users). Called with
# the customer row locked, so what they count cannot change meanwhile.
contract_checks = Listeners("contract_checks")
# audit_trail_entries(customer, limit) -> [entry, ...]: what the customer's audit trail shows
# beside its audit events, shaped like events (created_at, action, before, after ...), newest
# first (points: the monthly charges, which the run audits per chunk rather than per account).
audit_trail_entries = Listeners("audit_trail_entries")

# cancellation_checks(customer): before an account is cancelled now or given a cancellation date
# by a person (not the daily run reaching a date set earlier), each may refuse with DomainError
# (merges: an account with a pending merge or transfer request). Called with the row locked.
cancellation_checks = Listeners("cancellation_checks")
# daily_run_steps(run_date) -> {name: count}: work the daily run does for the apps above it once
# its charges are done (merges: pending requests expire), each result merged into the run's counts.
daily_run_steps = Listeners("daily_run_steps")
# merge_people_preview(absorbed, survivor, keep_admins) -> dict: what a merge does to the two
# customers' administrators and service users (who moves, who becomes a user, name clashes, the
# active users after); merge_people(*, actor, absorbed, survivor, keep_admins) -> dict: do it, in
# the caller's transaction with both rows locked, refusing with DomainError what the preview flags.
merge_people_preview = Hook("merge_people_preview", "customer_portal")
merge_people = Hook("merge_people", "customer_portal")

# customer_events(event_type, items, *, organization_id=None): customer accounts' events for the
# organizations' webhooks (DESIGN.md §13), called in the transaction of the change once it is
# made; `items` is [(customer, extra payload), ...], each event going to the customer's MSP (or to
# `organization_id`: a transfer tells the MSP it left too). Cheap when nobody listens: one query
# for all the items (webhooks), nothing per account.
customer_events = Listeners("customer_events")
# organization_events(event_type, data_for, *, organization_ids=None): one event per MSP (the
# monthly run's totals, a reminder day's shortage list). `data_for(ids)` -> {MSP id: payload} is
# called only for the MSPs (of `organization_ids`, or any) whose endpoints subscribe to it.
organization_events = Listeners("organization_events")
