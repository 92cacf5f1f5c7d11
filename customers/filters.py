"""Filters of the customer list (django-filter). Every filter is a URL parameter, so a filtered
view can be bookmarked and exported as shown."""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from accounts.selectors import managed_organization_ids
from msp_portal.permissions import OrganizationKind

from .models import CustomerStatus
from .selectors import customer_search

NO_SUPPORT_ACCOUNT = "none"


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"),
        method="filter_search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Code, company, domain, contact, reseller")}),
    )
    status = django_filters.ChoiceFilter(label=_("Status"), choices=CustomerStatus.choices, empty_label=_("All"))
    support_account = django_filters.ChoiceFilter(
        label=_("Support account"), choices=[], method="filter_support_account", empty_label=_("All")
    )
    organization = django_filters.ChoiceFilter(
        label=_("MSP"), choices=[], method="filter_organization", empty_label=_("All")
    )
    shortage = django_filters.ChoiceFilter(
        label=_("Point shortage expected"),
        choices=[("yes", _("Shortage expected")), ("no", _("No shortage expected"))],
        method="filter_shortage",
        empty_label=_("All"),
    )
    cancellation_scheduled = django_filters.ChoiceFilter(
        label=_("Cancellation"),
        choices=[("yes", _("Cancellation scheduled")), ("no", _("No cancellation scheduled"))],
        method="filter_cancellation_scheduled",
        empty_label=_("All"),
    )
    suspended = django_filters.ChoiceFilter(
        label=_("Suspension"),
        choices=[("yes", _("Suspended")), ("no", _("Not suspended"))],
        method="filter_suspended",
        empty_label=_("All"),
    )
    archived = django_filters.ChoiceFilter(
        label=_("Archived"),
        choices=[("only", _("Archived only")), ("include", _("Include archived"))],
        method="filter_archived",
        empty_label=_("Hide archived"),
    )

    def __init__(self, data=None, *args, user, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.user = user
        organization = user.organization
        managed = managed_organization_ids(user)
        if organization is not None and organization.kind == OrganizationKind.SUPPORT:
            # Support staff see only their assigned customers: both filters would be empty.
            del self.filters["support_account"]
            del self.filters["organization"]
            return
        supports = Organization.objects.filter(kind=OrganizationKind.SUPPORT).order_by("name", "id")
        if managed is not None:
            supports = supports.filter(parent_id__in=managed)
        self.filters["support_account"].extra["choices"] = [
            (NO_SUPPORT_ACCOUNT, _("Not assigned")),
            *((str(pk), name) for pk, name in supports.values_list("pk", "name")),
        ]
        if managed is not None and len(managed) <= 1:
            del self.filters["organization"]
        else:
            msps = Organization.objects.filter(
                kind__in=[OrganizationKind.MSP, OrganizationKind.PRIVILEGED_MSP]
            ).order_by("name", "id")
            if managed is not None:
                msps = msps.filter(pk__in=managed)
            self.filters["organization"].extra["choices"] = [
                (str(pk), name) for pk, name in msps.values_list("pk", "name")
            ]

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        # Archived accounts are out of the way unless asked for.
        if not self.form.cleaned_data.get("archived"):
            queryset = queryset.filter(archived_at__isnull=True)
        return queryset

    def filter_search(self, queryset, name, value):
        return customer_search(queryset, value)

    def filter_support_account(self, queryset, name, value):
        if value == NO_SUPPORT_ACCOUNT:
            return queryset.filter(support_account__isnull=True)
        return queryset.filter(support_account_id=int(value))

    def _scoped_to_msps(self) -> bool:
        """Whether the list is limited to some MSPs: by the user's scope or the MSP filter."""
        return managed_organization_ids(self.user) is not None or bool(self.form.cleaned_data.get("organization"))

    def filter_organization(self, queryset, name, value):
        return queryset.filter(organization_id=int(value))

    def filter_shortage(self, queryset, name, value):
        # The stored estimate (points.estimates) is negative when the next 25th's charge
        # exceeds the balance: an index range scan, no per-row computation. The wallet's MSP
        # (through_wallet) serves a list scoped to MSPs; over every MSP it names none, and the
        # join's second condition only makes PostgreSQL expect a sixteenth of the rows, so the
        # list's bounded count (customers.listing) hash-joined both tables whole.
        if self._scoped_to_msps():
            queryset = queryset.through_wallet()
        return queryset.filter(estimated_balance__lt=0) if value == "yes" else queryset.filter(estimated_balance__gte=0)

    def filter_cancellation_scheduled(self, queryset, name, value):
        return queryset.filter(cancellation_date__isnull=(value != "yes"))

    def filter_suspended(self, queryset, name, value):
        return queryset.filter(suspended_at__isnull=(value != "yes"))

    def filter_archived(self, queryset, name, value):
        if value == "only":
            return queryset.filter(archived_at__isnull=False)
        return queryset
