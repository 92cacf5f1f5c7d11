"""The customer list's 選択実行 (bulk action) menu, defined once.

Add one `BulkAction` when its view exists. The view receives the selected ids as repeated
`ids` parameters (POST) and must re-scope them through `customers_for_list(request.user)`.
The list shows its checkboxes and the menu only when the user has at least one action.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from msp_portal.permissions import Cap, has_cap


@dataclass(frozen=True)
class BulkAction:
    name: str
    label: str
    url_name: str
    cap: Cap
    # Opens its answer in the popup (htmx) instead of as a page of its own.
    popup: bool = False


BULK_ACTIONS: list[BulkAction] = [
    # 必要ポイントの補充 → the ポイント数自動更新 popup (points/views.py: points_replenish).
    BulkAction("replenish", _("Replenish needed points"), "points:replenish", Cap.POINTS_REPLENISH, popup=True),
    # 納品通知: e-mail the account and admin information to the customer's and reseller's contacts.
    BulkAction(
        "delivery_notice",
        _("Delivery notification"),
        "customer_portal:delivery_notice",
        Cap.CUSTOMERS_DELIVERY_NOTICE,
        popup=True,
    ),
    BulkAction(
        "export_selected_csv", _("Export selected (CSV)"), "customers:export_selected_csv", Cap.CUSTOMERS_EXPORT
    ),
    BulkAction(
        "export_selected_xlsx", _("Export selected (Excel)"), "customers:export_selected_xlsx", Cap.CUSTOMERS_EXPORT
    ),
]


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
