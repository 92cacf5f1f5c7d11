"""The lists that can be exported. A dataset turns (user, the list's query parameters) into
the scoped, filtered, ordered queryset and the columns the user sees on that list, by calling
the list's own selector and filters, so the export and the list can never disagree."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import QueryDict

from msp_portal.permissions import Cap

from .columns import ExportColumn

Builder = Callable[[object, QueryDict], tuple[QuerySet, Sequence[ExportColumn]]]


@dataclass(frozen=True)
class Dataset:
    """`name` identifies the dataset in jobs and audit actions ("<name>.export"); `file_stem`
    starts the download's file name; `sheet_title` names the Excel sheet (lazy, translated);
    `capability` is what a user needs to export it; `build(user, params)` returns the
    queryset and columns; `list_url_name` is the list page the export was started from."""

    name: str
    file_stem: str
    sheet_title: str
    capability: Cap
    build: Builder
    list_url_name: str = ""


_DATASETS: dict[str, Dataset] = {}


def register(dataset: Dataset) -> Dataset:
    _DATASETS[dataset.name] = dataset
    return dataset


def get_dataset(name: str) -> Dataset:
    try:
        return _DATASETS[name]
    except KeyError:
        raise LookupError(f"No export dataset named {name!r}.") from None
