"""How a popup's view answers once its action succeeded."""

from __future__ import annotations

from django.shortcuts import redirect
from django_htmx.http import HttpResponseClientRedirect


def popup_done(request, url: str):
    """Close the popup by reloading `url` (htmx), or redirect to it (plain page)."""
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return redirect(url)
