"""Cross-cutting pages: where a signed-in user lands, the health check, the error pages."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.core.exceptions import BadRequest
from django.db import connection
from django.http import HttpResponse, HttpResponseRedirect, HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from .navigation import LANDING_PAGES
from .permissions import Cap, capability_required, public


@public
@require_GET
def home(request):
    if not request.user.is_authenticated:
        return redirect("login")
    for landing_page in LANDING_PAGES:
        url = landing_page(request.user)
        if url is not None:
            return redirect(url)
    return redirect("dashboard")


@public
@require_GET
def favicon(request):
    """/favicon.ico, which browsers ask for on their own: the icon WhiteNoise serves under its
    static (in production hashed, long-cached) name. The pages link the icon themselves."""
    return HttpResponseRedirect(static("portal/favicon.ico"))


# A report is a few hundred bytes; anything longer is cut before it is logged.
CSP_REPORT_LIMIT = 4096
csp_logger = logging.getLogger("msp_portal.csp")


@public
@csrf_exempt
@require_POST
def csp_report(request):
    """Where browsers report what the Content-Security-Policy blocked (its report-uri): logged as
    a warning with the page and the blocked address, for the operator's log collection. Browsers
    send it without a CSRF token or a session; it changes nothing."""
    body = request.body[:CSP_REPORT_LIMIT]
    try:
        report = json.loads(body).get("csp-report", {})
    except (ValueError, AttributeError):
        report = None
    if isinstance(report, dict):
        csp_logger.warning(
            "CSP violation: %s blocked %s on %s",
            str(report.get("violated-directive") or report.get("effective-directive") or "?")[:200],
            str(report.get("blocked-uri") or "?")[:500],
            str(report.get("document-uri") or "?")[:500],
        )
    else:
        csp_logger.warning("CSP report that is not one: %r", body[:200])
    return HttpResponse(status=204)


# --- Error pages (wired as handler400/403/404/500 in urls.py) --------------------------------------


def bad_request(request, exception=None):
    # A BadRequest says what was wrong with the request, for the user (msp_portal.requests); the
    # other 400s (a forged host, a broken session) are Django's and say nothing about themselves.
    message = str(exception) if isinstance(exception, BadRequest) else ""
    return render(request, "400.html", {"message": message}, status=400)


def permission_denied(request, exception=None):
    return render(request, "403.html", status=403)


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


def server_error(request):
    # No request context: whatever broke (the database, a context processor) must not break the
    # error page too. The language chosen by the middleware is still active.
    return HttpResponseServerError(loader.get_template("500.html").render())


def _database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True, "ok"
    except Exception as exc:  # any failure means "down"; the message says which
        return False, type(exc).__name__


def _broker_ok() -> tuple[bool, str]:
    from msp_portal.celery import app

    try:
        # The URL is read from the settings at each check, so a changed setting is what is probed.
        with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, "ok"
    except Exception as exc:  # any failure means "down"
        return False, type(exc).__name__


@public
@never_cache
@require_GET
def healthz(request):
    database_ok, database = _database_ok()
    broker_ok, broker = _broker_ok()
    status = 200 if database_ok and broker_ok else 503
    return JsonResponse(
        {
            "status": "ok" if status == 200 else "unavailable",
            "database": database,
            "broker": broker,
            "broker_transport": settings.CELERY_BROKER_URL.split(":", 1)[0],
        },
        status=status,
    )


class _MovedRedirect(HttpResponseRedirect):
    # 308: permanent, and the browser repeats the request as it was (a POST stays a POST).
    status_code = 308


def moved(pattern_name: str, cap: Cap, *, scope=None, renamed: dict[str, str] | None = None):
    """A view for an address that moved: it sends the request on to `pattern_name` with the same
    arguments (`renamed` maps an old argument name to the new one) and query string. It asks the
    same capability and `scope` (capability_required) as the new address, so the old one tells
    nobody more than the new one would: an object outside the user's scope is a 404 here too."""

    @capability_required(cap, scope=scope)
    def view(request, **kwargs):
        if scope is not None:
            helper, argument = scope
            helper(request.user, kwargs[argument])
        renames = renamed or {}
        url = reverse(pattern_name, kwargs={renames.get(name, name): value for name, value in kwargs.items()})
        query = request.META.get("QUERY_STRING", "")
        return _MovedRedirect(f"{url}?{query}" if query else url)

    view.moved_to = pattern_name
    return view
