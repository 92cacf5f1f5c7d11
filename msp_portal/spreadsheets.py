"""Formula injection (CSV injection): text a spreadsheet would run as a formula.

Every file the portal writes for spreadsheets, and every upload it reads from one, uses this
one rule (DESIGN.md §8).
"""

from __future__ import annotations

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(text: str | None) -> bool:
    return bool(text) and text.startswith(FORMULA_PREFIXES)


def neutralise_formula(text: str) -> str:
    """Prefix text a spreadsheet would run as a formula with an apostrophe, so it shows as text."""
    return "'" + text if looks_like_formula(text) else text
