"""How the portal writes a number of points, users or accounts, in every table, page and popup:
thousands separators, and a negative number with its minus sign and in red (the sign says it
without the colour). Templates use `{% number value %}` (msp_portal.templatetags.portal), the
tables these functions."""

from __future__ import annotations

from django.utils.html import format_html
from django.utils.safestring import SafeString

NONE = "—"
NEGATIVE_CLASS = "points-negative"


def number_text(value, *, signed: bool = False) -> str:
    """`1,234`, `-1,234` (`+1,234` when `signed`), `—` for None."""
    if value is None or value == "":
        return NONE
    value = int(value)
    return f"{value:+,}" if signed and value else f"{value:,}"


def number_html(value, *, signed: bool = False, testid: str = "") -> SafeString:
    """The number in a `num-value` span, red (NEGATIVE_CLASS) when below zero; `testid` names
    the span for the tests."""
    negative = value not in (None, "") and int(value) < 0
    classes = f"num-value {NEGATIVE_CLASS}" if negative else "num-value"
    if testid:
        return format_html(
            '<span class="{}" data-testid="{}">{}</span>', classes, testid, number_text(value, signed=signed)
        )
    return format_html('<span class="{}">{}</span>', classes, number_text(value, signed=signed))
