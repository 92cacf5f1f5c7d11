from __future__ import annotations

from django.urls import NoReverseMatch, reverse

from .navigation import NAVIGATION
from .permissions import has_cap, role_of


def portal(request):
    """The side menu's entries the user may use (`nav_items`, and `nav_groups`: the same in their
    groups), and the user's role, for the base template."""
    # django-tables2 renders every TemplateColumn cell with the request, which runs the context
    # processors again for each cell: compute this once per request (DESIGN.md §12).
    cached = getattr(request, "_portal_context", None)
    if cached is None:
        cached = _portal(request)
        if request is not None:
            request._portal_context = cached
    return cached


def _portal(request):
    # Popups extend `modal_base`: a fragment for htmx, a whole page otherwise.
    modal_base = "modal.html" if getattr(request, "htmx", False) else "modal_page.html"
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "nav_groups": [], "portal_role": None, "modal_base": modal_base}
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
        items.append({"url": url, "label": item.label, "group": item.group, "active": current.startswith(prefixes)})
    groups: list[dict] = []
    for entry in items:
        if not groups or groups[-1]["label"] != entry["group"]:
            groups.append({"label": entry["group"], "items": []})
        groups[-1]["items"].append(entry)
    return {"nav_items": items, "nav_groups": groups, "portal_role": role_of(user), "modal_base": modal_base}
