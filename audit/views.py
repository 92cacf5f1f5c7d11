"""The audit trail page and its CSV export (DESIGN.md §10)."""

from __future__ import annotations

import csv

from django.conf import settings
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django_tables2 import RequestConfig
from django_tables2.paginators import LazyPaginator

from msp_portal.dates import TOKYO
from msp_portal.permissions import Cap, capability_required
from msp_portal.requests import page_size
from msp_portal.spreadsheets import neutralise_formula

from .filters import AuditEventFilter
from .object_types import object_type_label
from .selectors import audit_events_visible_to
from .tables import AuditEventTable, change_lines

CSV_CHUNK = 2000


def _filtered(request) -> AuditEventFilter:
    queryset = audit_events_visible_to(request.user).select_related("organization", "customer")
    return AuditEventFilter(request.GET or None, queryset=queryset)


@capability_required(Cap.AUDIT_VIEW)
@require_GET
def audit_event_list(request):
    """Newest first; pages without counting the whole trail (LazyPaginator)."""
    event_filter = _filtered(request)
    table = AuditEventTable(event_filter.filtered_or_none().order_by("-created_at", "-id"))
    RequestConfig(request, paginate={"paginator_class": LazyPaginator, "per_page": page_size(request)}).configure(table)
    export_query = request.GET.copy()
    export_query.pop("page", None)
    export_query.pop("per_page", None)
    return render(
        request,
        "audit/event_list.html",
        {
            "table": table,
            "filter": event_filter,
            "page_sizes": settings.PORTAL_PAGE_SIZES,
            "export_query": export_query.urlencode(),
        },
    )


def _cell(value) -> str:
    """Text for a CSV cell; a leading formula character is neutralised (CSV injection)."""
    return neutralise_formula("" if value is None else str(value))


class _Echo:
    def write(self, value):
        return value


@capability_required(Cap.AUDIT_VIEW)
@require_GET
def audit_event_export(request):
    """The filtered events as CSV (UTF-8 with BOM for Japanese Excel), streamed row by row."""
    event_filter = _filtered(request)
    queryset = event_filter.filtered_or_none().order_by("-created_at", "-id")
    headers = [
        _("Time"),
        _("Actor"),
        _("Organization"),
        _("Action"),
        _("Object type"),
        _("Object id"),
        _("Object"),
        _("Customer"),
        _("Changes"),
        _("IP address"),
        _("Channel"),
    ]
    writer = csv.writer(_Echo())

    def rows():
        yield "\ufeff" + writer.writerow(headers)
        for event in queryset.iterator(chunk_size=CSV_CHUNK):
            changes = "; ".join(
                f"{field}: {old} → {new}" for field, old, new in change_lines(event.before, event.after)
            )
            yield writer.writerow(
                [
                    _cell(timezone.localtime(event.created_at, TOKYO).strftime("%Y-%m-%d %H:%M:%S")),
                    _cell(event.actor_label),
                    _cell(event.organization.name if event.organization else ""),
                    _cell(event.action),
                    _cell(object_type_label(event.object_type)),
                    _cell(event.object_id),
                    _cell(event.object_repr),
                    _cell(event.customer.account_code if event.customer else ""),
                    _cell(changes),
                    _cell(event.ip),
                    _cell(event.channel),
                ]
            )

    filename = f"audit-{timezone.localtime(timezone.now(), TOKYO):%Y%m%d-%H%M}.csv"
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
