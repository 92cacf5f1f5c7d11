from django import template

from msp_portal.numbers import number_html
from msp_portal.numbers import number_text as _number_text
from msp_portal.permissions import has_cap

register = template.Library()


@register.filter
def can(user, capability: str) -> bool:
    """`{% if request.user|can:"points.change" %}`: reads the one permission table."""
    return has_cap(user, capability)


@register.inclusion_tag("partials/form_fields.html")
def form_fields(form, compact: bool = False) -> dict:
    """`{% form_fields form %}`: the form's non-field errors, then every field."""
    return {"form": form, "fields": list(form), "compact": compact}


@register.inclusion_tag("partials/form_fields.html")
def form_field(field, compact: bool = False) -> dict:
    """`{% form_field form.amount %}`: one field with its label, help text and errors."""
    return {"form": None, "fields": [field], "compact": compact}


@register.simple_tag(name="number")
def number(value, signed: bool = False, testid: str = ""):
    """`{% number customer.points_balance testid="points-balance" %}`: thousands separators, a
    negative number with its minus sign and in red (msp_portal.numbers); `signed` writes +/-."""
    return number_html(value, signed=signed, testid=testid)


@register.filter(name="number_text")
def number_text(value):
    """`{{ value|number_text }}`: the same number as plain text (e-mails, attributes)."""
    return _number_text(value)
