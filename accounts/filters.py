"""Filters of the staff list (django-filter)."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from msp_portal.filters import PortalFilterSet
from msp_portal.permissions import Role


class StaffFilter(PortalFilterSet):
    q = django_filters.CharFilter(label=_("Name or e-mail"), method="filter_q", max_length=100)
    role = django_filters.ChoiceFilter(label=_("Role"), field_name="membership__role", choices=Role.choices)
    is_active = django_filters.BooleanFilter(label=pgettext_lazy("staff status", "Active"), field_name="is_active")
    organization = django_filters.ModelChoiceFilter(
        label=_("Organization"), field_name="membership__organization", queryset=None
    )

    def __init__(self, *args, organizations=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organizations is None:
            del self.filters["organization"]
        else:
            self.filters["organization"].queryset = organizations

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(email__icontains=value))
