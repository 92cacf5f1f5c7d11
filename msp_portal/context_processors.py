from __future__ import annotations

from django.urls import NoReverseMatch, reverse

from .navigation import NAVIGATION
from .permissions import has_cap, role_of


def portal(request):
    """Navigation entries the user may use, and the user's role, for the base template."""
    # Popups extend `modal_base`: a fragment for htmx, a whole page otherwise.
    modal_base = "modal.html" if getattr(request, "htmx", False) else "modal_page.html"
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "portal_role": None, "modal_base": modal_base}
    current = getattr(getattr(request, "resolver_match", None), "view_name", "") or ""
    items = []
    for item in NAVIGATION:
        if not has_cap(user, item.cap):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        prefixes = item.active_prefixes or (item.url_name,)
        items.append({"url": url, "label": item.label, "active": current.startswith(prefixes)})
    return {"nav_items": items, "portal_role": role_of(user), "modal_base": modal_base}
