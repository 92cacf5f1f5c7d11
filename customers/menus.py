"""The customer admin portal's menus, defined once: the MSP's screen customization (画面の
カスタマイズ, the account's `hidden_menus`) hides entries of this list, and the customer portal
(customer_portal.access) builds its menu from it."""

from django.utils.translation import gettext_lazy as _

# key, label — the order is the menu's order.
CUSTOMER_PORTAL_MENUS: list[tuple[str, str]] = [
    ("basic_info", _("Basic information")),
    ("admins", _("Administrators")),
    ("users", _("Users")),
    ("user_bulk", _("Bulk user import and export")),
]
MENU_KEYS = [key for key, _label in CUSTOMER_PORTAL_MENUS]
