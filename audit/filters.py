"""Filters of the audit trail (django-filter). Each one is served by an index on its own or
combined with the organization scope: action and actor by prefix/equality, dates as a range on
the time, the customer through its unique account code."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from msp_portal.dates import start_of_day
from msp_portal.filters import PortalFilterSet


class AuditEventFilter(PortalFilterSet):
    action = django_filters.CharFilter(
        label=_("Action"),
        method="filter_action",
        max_length=80,
        help_text=_("The beginning of the action, e.g. staff. or customer.register"),
    )
    actor = django_filters.CharFilter(label=_("Actor e-mail"), method="filter_actor", max_length=254)
    date_from = django_filters.DateFilter(
        label=_("From"), method="filter_date_from", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = django_filters.DateFilter(
        label=_("To"), method="filter_date_to", widget=forms.DateInput(attrs={"type": "date"})
    )
    customer = django_filters.CharFilter(label=_("Customer account code"), method="filter_customer", max_length=40)
    object_id = django_filters.CharFilter(label=_("Object id"), field_name="object_id", max_length=64)

    def filter_action(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(action__startswith=value) if value else queryset

    def filter_actor(self, queryset, name, value):
        value = value.strip().lower()
        return queryset.filter(actor_label=value) if value else queryset

    def filter_date_from(self, queryset, name, value):
        return queryset.filter(created_at__gte=start_of_day(value))

    def filter_date_to(self, queryset, name, value):
        return queryset.filter(created_at__lt=start_of_day(value + dt.timedelta(days=1)))

    def filter_customer(self, queryset, name, value):
        value = value.strip().lower()
        return queryset.filter(customer__account_code=value) if value else queryset
