"""Formula injection (CSV injection): text a spreadsheet would run as a formula.

Every file the portal writes for spreadsheets, and every upload it reads from one, uses this
one rule (DESIGN.md §8).
"""

from __future__ import annotations

from django.db.models import Case, TextField, Value, When
from django.db.models.functions import Concat, Left
from django.db.models.lookups import In

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(text: str | None) -> bool:
    return bool(text) and text.startswith(FORMULA_PREFIXES)


def neutralise_formula(text: str) -> str:
    """Prefix text a spreadsheet would run as a formula with an apostrophe, so it shows as text."""
    return "'" + text if text and text.startswith(FORMULA_PREFIXES) else text


def neutralise_formula_sql(text) -> Case:
    """The same rule as a database expression over the text expression `text` (exports written
    by PostgreSQL's COPY)."""
    return Case(
        When(In(Left(text, 1), list(FORMULA_PREFIXES)), then=Concat(Value("'"), text)),
        default=text,
        output_field=TextField(),
    )
