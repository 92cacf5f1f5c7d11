"""The one base table every list subclasses (django-tables2)."""

import django_tables2 as tables


class PortalTable(tables.Table):
    # What the table's scroll container is called for screen readers (portal/table.html).
    region_label = None

    class Meta:
        template_name = "portal/table.html"
        attrs = {"class": "table table-sm table-hover align-middle"}
        empty_text = ""
