"""What every e-mail the portal sends has in common."""

from __future__ import annotations

from django.template import Context
from django.template.loader import get_template


def render_subject(template_name: str, context: dict) -> str:
    """An e-mail subject from its template, as plain text: never HTML-escaped (「A&B」, not
    「A&amp;B」), on one line (a header holds no line break), in the active language."""
    template = get_template(template_name).template
    return " ".join(template.render(Context(context, autoescape=False)).split())
