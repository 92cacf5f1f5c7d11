"""How customer accounts are searched: one folding for the stored `search_text` and for queries,
so the list, the switcher and every service that changes a searched field agree."""

from __future__ import annotations

import unicodedata

from django.contrib.postgres.fields import ArrayField
from django.db import connection
from django.db.models import Func, QuerySet, TextField

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


# Terms shorter than a trigram (pg_trgm extracts nothing from one or two characters, so
# `LIKE '%札幌%'` would scan every row) are served by the GIN index over the text's unigrams and
# bigrams (migration customers 0004). A term of one or two characters is itself one gram, and a
# row holds that gram exactly when the term occurs in it, so `grams @> ARRAY[term]` is the LIKE,
# not an approximation of it: the LIKE is left out on PostgreSQL. Kept beside it, the LIKE made
# the planner multiply two selectivities into "rare" and read a common term (ヤマ, 5 % of the
# rows) through the trigram index whole (46 s at a million accounts); alone, the grams
# condition is estimated from the index's element statistics and the function's declared cost,
# so a rare term is read from the index (札幌: 21 ms at a million accounts) and a common one by
# walking the list's ordered index until a page is full (ヤ: 2 ms).
SHORT_TERM_LENGTH = 2


class SearchGrams(Func):
    """portal_search_grams(search_text): the one- and two-character grams of the text."""

    function = "portal_search_grams"
    output_field = ArrayField(TextField())


def short_term_filter(queryset: QuerySet[CustomerAccount], term: str) -> QuerySet[CustomerAccount]:
    """`queryset` narrowed to the rows whose search text contains `term` (already folded, one
    or two characters): on PostgreSQL through the grams index, elsewhere the plain LIKE."""
    if connection.vendor == "postgresql" and 0 < len(term) <= SHORT_TERM_LENGTH:
        return queryset.alias(search_grams=SearchGrams("search_text")).filter(search_grams__contains=[term])
    return queryset.filter(search_text__contains=term)
