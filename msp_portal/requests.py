"""What every page reads from a request the same way: the list's page size, where to go back
to, and the rows a bulk action was given."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import BadRequest
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

# The most rows one bulk action takes; a list page shows at most PORTAL_PAGE_SIZES[-1].
MAX_SELECTED_IDS = 1000
# The largest primary key (a 64-bit signed integer) and its number of digits.
_MAX_ID = 2**63 - 1
_MAX_ID_DIGITS = len(str(_MAX_ID))


def page_size(request) -> int:
    """The `per_page` a list page was asked for when it is one of PORTAL_PAGE_SIZES, else the
    first of them."""
    sizes = settings.PORTAL_PAGE_SIZES
    try:
        size = int(request.GET.get("per_page", ""))
    except ValueError:
        return sizes[0]
    return size if size in sizes else sizes[0]


def safe_next_url(request, default: str) -> str:
    """Where to go once the page or popup is done: its `next` (form field, then query string),
    else for an htmx request the page it was sent from, else `default`. Only URLs of this host
    count, and on an https request only https ones (no open redirect, no downgrade); a bare word
    never does (`redirect()` would look it up as a view name and fail with a 500)."""
    candidates = [request.POST.get("next"), request.GET.get("next")]
    if getattr(request, "htmx", False):
        candidates.append(request.htmx.current_url)
    return next((url for url in candidates if is_url_of_this_site(request, url)), default)


def is_url_of_this_site(request, url: str | None) -> bool:
    """A path ("/…") or an absolute URL on this host, https on an https request."""
    if not url or not (url.startswith("/") or "://" in url):
        return False
    return url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure())


def parse_ids(values: Iterable[str], *, limit: int = MAX_SELECTED_IDS) -> list[int]:
    """Row ids as given (repeated `ids` parameters), once each, in their order. Only positive
    integers are ids: anything else, or more than `limit` of them, is a BadRequest (400) with a
    message for the user, never dropped quietly."""
    ids: dict[int, None] = {}
    for value in values:
        if not (value.isascii() and value.isdigit() and len(value) <= _MAX_ID_DIGITS and 0 < int(value) <= _MAX_ID):
            raise BadRequest(_("The selection is not valid."))
        ids[int(value)] = None
    if len(ids) > limit:
        raise BadRequest(_("Select at most %(limit)s rows at a time.") % {"limit": f"{limit:,}"})
    return list(ids)


def selected_ids(request, *, limit: int = MAX_SELECTED_IDS) -> list[int]:
    """The ids a bulk action was posted (or, for its GET, asked) with; see parse_ids."""
    source = request.POST if request.method == "POST" else request.GET
    return parse_ids(source.getlist("ids"), limit=limit)
