"""What an audit event's `object_type` names, resolved through one table.

`object_type` is the model's label when the event was written ("accounts.CustomerAccount").
A model that moves to another app gets a new label while older events keep the old one, so
every label a model has had is listed here as one group: old and new events resolve to the
same model, whichever app holds it now."""

from __future__ import annotations

from django.apps import apps
from django.db import models

# Each group: every label one model is (or was) stored under. The customer account and its
# histories move from `accounts` to `customers`.
LABEL_GROUPS: tuple[tuple[str, ...], ...] = (
    ("accounts.CustomerAccount", "customers.CustomerAccount"),
    ("accounts.CustomerStatusChange", "customers.CustomerStatusChange"),
    ("accounts.ContractChange", "customers.ContractChange"),
)
_GROUP_OF = {label: group for group in LABEL_GROUPS for label in group}


def object_model(object_type: str) -> type[models.Model] | None:
    """The installed model `object_type` names, under any label it has had; None if none."""
    for label in _GROUP_OF.get(object_type, (object_type,)):
        try:
            return apps.get_model(label)
        except (LookupError, ValueError):
            continue
    return None


def object_type_label(object_type: str) -> str:
    """The model's label today, for an event written under any of its labels; the stored text
    when it names no installed model."""
    model = object_model(object_type)
    return model._meta.label if model is not None else object_type


def object_type_labels(model: type[models.Model]) -> tuple[str, ...]:
    """Every label events about `model` may carry, to find them with `object_type__in`."""
    return _GROUP_OF.get(model._meta.label, (model._meta.label,))
