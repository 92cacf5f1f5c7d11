"""The audit trail as people read it: the action's name, who acted, and each changed field with
its label and its values before and after, formatted as the pages show them.

A field's label and values come, in this order, from what an app registered for its key
(`register_field`, called from the app's AppConfig.ready: a status's label, a menu's name), from
the model field the key names on the event's object type (its verbose_name, its choices, the
related object of a foreign key, its date kind — audit.object_types resolves old and new
labels), and from a small table of keys written outside any model (KNOWN_FIELDS). Values are
then formatted by kind: `—` for none or empty, はい/いいえ, numbers with thousands separators,
dates and datetimes in the reader's locale and Asia/Tokyo; a dict or a list as its items."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats, timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from msp_portal.dates import TOKYO
from msp_portal.permissions import Role

from .actions import action_label
from .object_types import object_model

DASH = "—"

Formatter = Callable[[Any], str]


@dataclass(frozen=True)
class FieldSpec:
    label: Promise | str | None = None
    # Formats one non-empty value; None: by the model field or the value's kind.
    format: Formatter | None = None


def _choices(choices) -> Formatter:
    labels = dict(choices)
    return lambda value: str(labels.get(value, value))


# Keys of before/after snapshots that are not (all) model fields of the event's object: the
# monthly charge's entries (points.selectors.charge_entries), the ledger's transfer details,
# the settlement, exports, jobs and migrations.
KNOWN_FIELDS: dict[str, FieldSpec] = {
    "points": FieldSpec(_("Points")),
    "points_balance": FieldSpec(_("Points balance")),
    "period": FieldSpec(_("Period")),
    "job_run": FieldSpec(_("Job run"), lambda value: f"#{value}"),
    "transfer": FieldSpec(_("Transfer"), lambda value: f"#{value}"),
    "reverses": FieldSpec(_("Reversed transfer"), lambda value: f"#{value}"),
    "kind": FieldSpec(_("Kind")),
    "amount": FieldSpec(_("Points")),
    "debit": FieldSpec(_("Transfer from")),
    "credit": FieldSpec(_("Transfer to")),
    "debit_balance_after": FieldSpec(_("Balance after (from)")),
    "credit_balance_after": FieldSpec(_("Balance after (to)")),
    "before": FieldSpec(_("Balance before")),
    "balance_before": FieldSpec(_("Balance before")),
    "estimate_before": FieldSpec(_("Estimated balance before")),
    "estimated_balance": FieldSpec(_("Estimated balance")),
    "batch": FieldSpec(_("Batch")),
    "order_reference": FieldSpec(_("Order reference")),
    "reason": FieldSpec(_("Reason")),
    "error": FieldSpec(_("Error")),
    "settlement_topup": FieldSpec(_("Settlement top-up")),
    "settlement_forfeit": FieldSpec(_("Settlement forfeit")),
    "charged_before_settlement": FieldSpec(_("Charged before settlement")),
    "scheduled": FieldSpec(_("Scheduled cancellation")),
    "negative_since": FieldSpec(_("Negative since")),
    "recipients": FieldSpec(_("Recipients")),
    "language": FieldSpec(_("Language"), _choices(settings.LANGUAGES)),
    "status": FieldSpec(_("status")),
    "role": FieldSpec(_("Role"), _choices(Role.choices)),
    "two_factor": FieldSpec(_("Two-factor authentication")),
    "is_active": FieldSpec(_("Active")),
    "first_id": FieldSpec(_("First account id")),
    "last_id": FieldSpec(_("Last account id")),
    "accounts": FieldSpec(_("Accounts")),
    "format": FieldSpec(_("Format")),
    "filters": FieldSpec(_("Filters")),
    "rows": FieldSpec(_("Rows")),
    "file_name": FieldSpec(_("File name")),
    "added": FieldSpec(_("Users added")),
    "pool": FieldSpec(_("Pool"), lambda value: f"#{value}"),
    "balance": FieldSpec(_("Balance")),
    "extra_pools": FieldSpec(_("Duplicate pools")),
    "retired_pools": FieldSpec(_("Merged pools")),
}

# What the apps above registered (register_field); looked up before the model field.
_REGISTERED: dict[str, FieldSpec] = {}


def register_field(key: str, *, label: Promise | str | None = None, format: Formatter | None = None) -> None:
    """Name and/or format the snapshot key `key` in every event (an app's AppConfig.ready:
    e.g. customers registers the status labels and the menu names of `hidden_menus`)."""
    _REGISTERED[key] = FieldSpec(label, format)


# Who acted when no user did, by the channel the event came from (msp_portal.context).
CHANNEL_ACTORS: dict[str, Promise] = {
    "job": _("System (scheduled job)"),
    "command": _("Operations command"),
    "migration": _("System (data migration)"),
}

# Functions (event) -> str | None tried first for the actor, e.g. an API key's name once keys
# write events (register_actor).
_ACTOR_RESOLVERS: list[Callable[[Any], str | None]] = []


def register_actor(resolver: Callable[[Any], str | None]) -> None:
    if resolver not in _ACTOR_RESOLVERS:
        _ACTOR_RESOLVERS.append(resolver)


@dataclass(frozen=True)
class Actor:
    label: str  # a person's name, or what acted for nobody ("System (scheduled job)")
    email: str = ""

    def __str__(self) -> str:
        return f"{self.label} <{self.email}>" if self.email and self.email != self.label else self.label


def actor_of(event) -> Actor:
    """Who acted: a user by name and e-mail; otherwise what the channel says (a scheduled job,
    an operations command); "System" for anything else. Works on AuditEvent (select its
    `actor`) and on entries shaped like one (points.selectors.ChargeEntry)."""
    for resolver in _ACTOR_RESOLVERS:
        label = resolver(event)
        if label:
            return Actor(label)
    actor = getattr(event, "actor", None) if getattr(event, "actor_id", True) else None
    if actor is not None:
        return Actor(getattr(actor, "name", "") or actor.email, actor.email)
    channel = getattr(event, "channel", None) or getattr(event, "actor_label", "")
    return Actor(str(CHANNEL_ACTORS.get(channel, _("System"))))


@dataclass(frozen=True)
class Change:
    key: str
    label: str
    before: str
    after: str

    def __str__(self) -> str:
        return f"{self.label}: {self.before} → {self.after}"


_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def format_datetime(value: dt.datetime) -> str:
    if timezone.is_naive(value):
        value = timezone.make_aware(value, TOKYO)
    return formats.date_format(timezone.localtime(value, TOKYO), "SHORT_DATETIME_FORMAT")


def format_date(value: dt.date) -> str:
    return formats.date_format(value, "SHORT_DATE_FORMAT")


def format_value(value) -> str:
    """One value by its kind, as the pages show it; `—` for none or empty."""
    if _empty(value):
        return DASH
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, int | float | Decimal):
        return formats.number_format(value, force_grouping=True)
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.date):
        return format_date(value)
    if isinstance(value, str):
        if _DATETIME.match(value) and (parsed := parse_datetime(value)) is not None:
            return format_datetime(parsed)
        if _DATE.match(value) and (parsed := parse_date(value)) is not None:
            return format_date(parsed)
        return value
    if isinstance(value, dict):
        return ", ".join(f"{format_value(key)}: {format_value(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(format_value(item) for item in value)
    return str(value)


def _model_field(model: type[models.Model] | None, key: str):
    if model is None:
        return None
    try:
        field = model._meta.get_field(key)
    except FieldDoesNotExist:
        return None
    return field if getattr(field, "concrete", False) else None


class EventPresenter:
    """Reads events for display. Related objects a value names (a support account, an
    organization) are looked up once per presenter, so one presenter serves a page or an export."""

    def __init__(self):
        self._related: dict[tuple[type, Any], str] = {}

    def _related_text(self, model: type[models.Model], pk) -> str:
        cache_key = (model, pk)
        if cache_key not in self._related:
            if len(self._related) > 10_000:
                self._related.clear()
            obj = model._base_manager.filter(pk=pk).first()
            self._related[cache_key] = str(obj) if obj is not None else f"#{pk}"
        return self._related[cache_key]

    def _format(self, spec: FieldSpec | None, field, value) -> str:
        if _empty(value):
            return DASH
        if spec is not None and spec.format is not None:
            return spec.format(value)
        if field is not None:
            if field.choices:
                return str(dict(field.flatchoices).get(value, value))
            if field.many_to_one or field.one_to_one:
                return self._related_text(field.related_model, value)
            if isinstance(field, models.DateTimeField) and isinstance(value, str):
                parsed = parse_datetime(value)
                return format_datetime(parsed) if parsed is not None else value
            if isinstance(field, models.DateField) and isinstance(value, str):
                parsed = parse_date(value)
                return format_date(parsed) if parsed is not None else value
        return format_value(value)

    def changes(self, event) -> list[Change]:
        """One Change per key of the event's before/after snapshots, in the order written."""
        before = event.before if isinstance(event.before, dict) else {}
        after = event.after if isinstance(event.after, dict) else {}
        model = object_model(getattr(event, "object_type", "") or "")
        result = []
        for key in dict.fromkeys([*before, *after]):
            registered = _REGISTERED.get(key)
            field = _model_field(model, key)
            known = KNOWN_FIELDS.get(key)
            label = next(
                (
                    capfirst(str(label))
                    for label in (
                        registered.label if registered else None,
                        field.verbose_name if field is not None else None,
                        known.label if known else None,
                    )
                    if label
                ),
                key,  # a key nobody named reads as written
            )
            spec = registered if registered and registered.format else (None if field is not None else known)
            result.append(
                Change(
                    key=key,
                    label=label,
                    before=self._format(spec, field, before.get(key)),
                    after=self._format(spec, field, after.get(key)),
                )
            )
        return result

    def changes_text(self, event) -> str:
        return "; ".join(str(change) for change in self.changes(event))

    def present(self, event) -> PresentedEvent:
        return PresentedEvent(
            event=event,
            action_label=action_label(event.action),
            actor=actor_of(event),
            changes=self.changes(event),
        )


@dataclass(frozen=True)
class PresentedEvent:
    """An event with its readable parts; the event's own attributes (created_at, action, ip,
    job_run_id …) read through."""

    event: Any
    action_label: str
    actor: Actor
    changes: list[Change]

    def __getattr__(self, name):
        return getattr(self.event, name)


def present(events: Iterable) -> list[PresentedEvent]:
    presenter = EventPresenter()
    return [presenter.present(event) for event in events]
