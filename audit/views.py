"""The audit trail page and its CSV export (DESIGN.md §10)."""

from __future__ import annotations

import csv
import json

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django_tables2 import RequestConfig
from django_tables2.paginators import LazyPaginator

from msp_portal.dates import TOKYO
from msp_portal.paging import page_bound
from msp_portal.permissions import Cap, capability_required
from msp_portal.requests import page_size
from msp_portal.spreadsheets import neutralise_formula

from .actions import action_label
from .filters import AuditEventFilter
from .object_types import object_type_label
from .presenters import EventPresenter, actor_of
from .selectors import audit_events_visible_to, audit_page_events
from .tables import AuditEventTable

CSV_CHUNK = 2000


def _filtered(request) -> AuditEventFilter:
    queryset = audit_events_visible_to(request.user).select_related("actor", "organization", "customer")
    return AuditEventFilter(request.GET or None, queryset=queryset)


@capability_required(Cap.AUDIT_VIEW)
@require_GET
def audit_event_list(request):
    """Newest first; pages without counting the whole trail (LazyPaginator)."""
    event_filter = _filtered(request)
    per_page = page_size(request)
    events = audit_page_events(request.user, event_filter.filtered_or_none(), page_bound(request, per_page))
    table = AuditEventTable(events)
    RequestConfig(request, paginate={"paginator_class": LazyPaginator, "per_page": per_page}).configure(table)
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


def _json(value) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, cls=DjangoJSONEncoder)


@capability_required(Cap.AUDIT_VIEW)
@require_GET
def audit_event_export(request):
    """The filtered events as CSV (UTF-8 with BOM for Japanese Excel), streamed row by row:
    what the page shows (the action's name, the actor, the changes by field) and the machine-
    readable columns beside it (the action's code, the actor's id and e-mail, the raw before
    and after as JSON)."""
    event_filter = _filtered(request)
    queryset = event_filter.filtered_or_none().order_by("-created_at", "-id")
    headers = [
        _("Time"),
        _("Action"),
        _("Action code"),
        _("Actor"),
        _("Actor id"),
        _("Actor e-mail"),
        _("Organization"),
        _("Object type"),
        _("Object id"),
        _("Object"),
        _("Customer"),
        _("Changes"),
        _("Before (JSON)"),
        _("After (JSON)"),
        _("IP address"),
        _("Channel"),
    ]
    writer = csv.writer(_Echo())
    presenter = EventPresenter()
    # The rows are written after the view returns: in the language of the request.
    language = translation.get_language()

    def row(event) -> list[str]:
        with translation.override(language):
            return [
                _cell(timezone.localtime(event.created_at, TOKYO).strftime("%Y-%m-%d %H:%M:%S")),
                _cell(action_label(event.action)),
                _cell(event.action),
                _cell(str(actor_of(event))),
                _cell(event.actor_id),
                _cell(event.actor.email if event.actor_id else ""),
                _cell(event.organization.name if event.organization else ""),
                _cell(object_type_label(event.object_type)),
                _cell(event.object_id),
                _cell(event.object_repr),
                _cell(event.customer.account_code if event.customer else ""),
                _cell(presenter.changes_text(event)),
                _cell(_json(event.before)),
                _cell(_json(event.after)),
                _cell(event.ip),
                _cell(event.channel),
            ]

    def rows():
        yield "\ufeff" + writer.writerow(headers)
        for event in queryset.iterator(chunk_size=CSV_CHUNK):
            yield writer.writerow(row(event))

    filename = f"audit-{timezone.localtime(timezone.now(), TOKYO):%Y%m%d-%H%M}.csv"
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
