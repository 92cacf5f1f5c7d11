"""The base of every filter set: Bootstrap-styled, compact filter forms."""

from __future__ import annotations

import django_filters


class PortalFilterSet(django_filters.FilterSet):
    @property
    def form(self):
        form = super().form
        if not getattr(form, "_portal_styled", False):
            for field in form.fields.values():
                widget = field.widget
                css = "form-select form-select-sm" if hasattr(widget, "choices") else "form-control form-control-sm"
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()
            form._portal_styled = True
        return form

    def filtered_or_none(self):
        """The filtered queryset; nothing at all when a filter value is invalid (a malformed
        date must not silently show every row)."""
        if self.is_bound and not self.is_valid():
            return self.queryset.none()
        return self.qs
