"""Where a page may send the user back to: a `next` taken from the request."""

from __future__ import annotations

from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request, *candidates: str | None) -> str | None:
    """The first candidate that is a URL of this site: a path ("/…") or an absolute URL on this
    host (htmx's current URL). Another host, or a bare word (which `redirect()` would look up as
    a view name and fail on with a 500), is never returned."""
    hosts = {request.get_host()}
    for url in candidates:
        if not url or not (url.startswith("/") or "://" in url):
            continue
        if url_has_allowed_host_and_scheme(url, allowed_hosts=hosts, require_https=request.is_secure()):
            return url
    return None
