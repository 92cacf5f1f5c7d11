"""The base of every filter set: Bootstrap-styled, compact filter forms."""

from __future__ import annotations

import django_filters

from .forms import style_widgets


class PortalFilterSet(django_filters.FilterSet):
    @property
    def form(self):
        form = super().form
        if not getattr(form, "_portal_styled", False):
            style_widgets(form.fields, small=True)
            form._portal_styled = True
        return form

    def filtered_or_none(self):
        """The filtered queryset; nothing at all when a filter value is invalid (a malformed
        date must not silently show every row)."""
        if self.is_bound and not self.is_valid():
            return self.queryset.none()
        return self.qs
