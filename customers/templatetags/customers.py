"""Customer markup drawn in Python (accounts/tables.py), for templates: the list's rows, and the
status badge and 解約 button that other pages show too."""

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from customers import tables
from msp_portal.permissions import capabilities_of

register = template.Library()

SELECTED = mark_safe(" selected")


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


@register.simple_tag
def filter_select(field):
    """`{% filter_select field %}`: a list filter's <select>, drawn in Python. The operator's MSP
    filter has an option per MSP (500 in the benchmark): drawn by a template loop, the options
    took ~25 ms of the page (DESIGN.md §12, `manage.py bench`)."""
    current = field.value()
    current = "" if current is None else str(current)
    options = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, SELECTED if str(value) == current else "", label) for value, label in field.field.choices),
    )
    return format_html(
        '<select name="{}" id="{}" class="form-select form-select-sm">{}</select>',
        field.html_name,
        field.id_for_label,
        options,
    )
