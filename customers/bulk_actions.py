"""The customer list's 選択実行 (bulk action) menu, defined once.

The apps whose views act on selected customers register their `BulkAction` from their
AppConfig.ready (`register_bulk_action`), so the menu's order is the apps' order in
INSTALLED_APPS. The view receives the selected ids as repeated `ids` parameters (POST) and must
re-scope them through `customers_for_list(request.user)`. The list shows its checkboxes and the
menu only when the user has at least one action.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from msp_portal.permissions import Cap, has_cap


@dataclass(frozen=True)
class BulkAction:
    name: str
    label: str
    url_name: str
    cap: Cap
    # Opens its answer in the popup (htmx) instead of as a page of its own.
    popup: bool = False


BULK_ACTIONS: list[BulkAction] = []


def register_bulk_action(action: BulkAction) -> None:
    """Add `action` to the menu (once; registering a name again replaces it in place)."""
    for index, existing in enumerate(BULK_ACTIONS):
        if existing.name == action.name:
            BULK_ACTIONS[index] = action
            return
    BULK_ACTIONS.append(action)


def bulk_actions_for(user) -> list[dict]:
    """The actions the user may run, with their URLs, in menu order."""
    actions = []
    for action in BULK_ACTIONS:
        if not has_cap(user, action.cap):
            continue
        try:
            url = reverse(action.url_name)
        except NoReverseMatch:
            continue
        actions.append({"name": action.name, "label": action.label, "url": url, "popup": action.popup})
    return actions
