"""Customer markup drawn in Python (accounts/tables.py), for templates: the list's rows, and the
status badge and 解約 button that other pages show too."""

from django import template

from accounts import tables
from msp_portal.permissions import capabilities_of

register = template.Library()


@register.simple_tag(takes_context=True)
def customer_row(context, table, record, oob=False):
    """`{% customer_row table record %}`: one row of the customer list (CustomerTable.render_row)."""
    return table.render_row(record, context["request"], oob=oob)


@register.simple_tag
def status_badge(customer):
    return tables.status_badge(customer)


@register.simple_tag(takes_context=True)
def cancel_button(context, customer):
    """解約 (withdrawal before activation) for a user who may cancel and a status that allows it."""
    return tables.cancel_button(customer, capabilities_of(context["request"].user))
