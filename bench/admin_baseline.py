"""The Django admin's changelist over the same customer accounts: a baseline of the list page.

A separate AdminSite, mounted only by the benchmark's URLconf (bench.urls), so the product's
admin is unchanged. Same page size, same default order, same search index (`search_text`
partial match), a "shortage expected" filter on the stored estimate, an MSP filter; the points
come from the wallet (`list_select_related`), as an admin would write it.
"""

from __future__ import annotations

from django.contrib import admin

from customers.models import CustomerAccount


class ShortageFilter(admin.SimpleListFilter):
    title = "shortage expected"
    parameter_name = "shortage"

    def lookups(self, request, model_admin):
        return [("yes", "yes"), ("no", "no")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(wallet__estimated_balance__lt=0)
        if self.value() == "no":
            return queryset.filter(wallet__estimated_balance__gte=0)
        return queryset


class CustomerAccountBaselineAdmin(admin.ModelAdmin):
    list_display = (
        "account_code",
        "company_name",
        "status",
        "contracted_users",
        "points_balance",
        "estimated_balance",
        "cancellation_date",
        "support_account",
        "reseller_name",
        "registered_at",
    )
    # Positions in list_display for the `o` parameter (1-based), used by the benchmark.
    ORDER_COLUMNS = {name: index for index, name in enumerate(list_display, 1)}
    list_select_related = ("organization", "support_account", "wallet")
    list_filter = (ShortageFilter, "organization")
    search_fields = ("search_text__contains",)
    ordering = ("-registered_at", "-id")
    list_per_page = 25

    # The points come from the wallet, joined for the page's rows (not for the admin's counts).
    @admin.display(description="current points", ordering="wallet__balance")
    def points_balance(self, obj):
        return obj.wallet.balance

    @admin.display(description="estimated points", ordering="wallet__estimated_balance")
    def estimated_balance(self, obj):
        return obj.wallet.estimated_balance


site = admin.AdminSite(name="bench_admin")
site.register(CustomerAccount, CustomerAccountBaselineAdmin)
