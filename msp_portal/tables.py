"""The one base table every list subclasses (django-tables2)."""

import django_tables2 as tables


class PortalTable(tables.Table):
    class Meta:
        template_name = "django_tables2/bootstrap5-responsive.html"
        attrs = {"class": "table table-sm table-hover align-middle"}
        empty_text = ""
