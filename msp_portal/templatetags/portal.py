from django import template

from msp_portal.permissions import has_cap

register = template.Library()


@register.filter
def can(user, capability: str) -> bool:
    """`{% if request.user|can:"points.change" %}`: reads the one permission table."""
    return has_cap(user, capability)
