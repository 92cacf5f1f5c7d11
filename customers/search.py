"""How customer accounts are searched: one folding for the stored `search_text` and for queries,
so the list, the switcher and every service that changes a searched field agree."""

from __future__ import annotations

import unicodedata

from .models import CustomerAccount

# The fields `CustomerAccount.search_text` is built from.
SEARCH_FIELDS = [
    "account_code",
    "company_name",
    "company_name_kana",
    "email_domain",
    "contact_name",
    "contact_email",
    "reseller_name",
]

_KATAKANA_TO_HIRAGANA = {code: code - 0x60 for code in range(0x30A1, 0x30F7)}


def search_normalize(text: str) -> str:
    """Fold a text the way `search_text` is stored: NFKC (full-width ASCII and half-width kana
    become one form), lowercase, katakana as hiragana. Queries are folded the same way."""
    return unicodedata.normalize("NFKC", text or "").lower().translate(_KATAKANA_TO_HIRAGANA)


def customer_search_text(customer: CustomerAccount) -> str:
    # One line per field, so a query never matches across two fields.
    return "\n".join(search_normalize(str(getattr(customer, name) or "")) for name in SEARCH_FIELDS)
