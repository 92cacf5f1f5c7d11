"""Filters of the point history tables."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from msp_portal import dates
from msp_portal.filters import PortalFilterSet

from .models import Transfer, TransferKind


class TransferFilter(PortalFilterSet):
    """Kind, business-date range (Asia/Tokyo) and customer account code."""

    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=TransferKind.choices, empty_label=_("All kinds"))
    date_from = django_filters.DateFilter(
        label=_("From"), method="filter_date_from", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = django_filters.DateFilter(
        label=_("To"), method="filter_date_to", widget=forms.DateInput(attrs={"type": "date"})
    )
    customer = django_filters.CharFilter(label=_("Account code"), method="filter_customer")

    class Meta:
        model = Transfer
        fields = ["kind"]

    def filter_date_from(self, queryset, name, value):
        return queryset.filter(created_at__gte=dates.start_of_day(value))

    def filter_date_to(self, queryset, name, value):
        return queryset.filter(created_at__lt=dates.start_of_day(value + dt.timedelta(days=1)))

    def filter_customer(self, queryset, name, value):
        value = value.strip().lower()
        return queryset.filter(customer__account_code=value) if value else queryset
