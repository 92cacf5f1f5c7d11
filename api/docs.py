"""The API's docs pages, served offline (drf-spectacular-sidecar's Swagger UI and Redoc from
the portal's static files) under the portal's strict CSP: the templates load only the portal's
own scripts and styles, and the Swagger UI's start-up script comes as a file of its own
(SpectacularSwaggerSplitView), not inline."""

from __future__ import annotations

import functools
from pathlib import Path

import drf_spectacular_sidecar
from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.http import HttpResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

REDOC_BUNDLE = (
    Path(drf_spectacular_sidecar.__file__).parent / "static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
)
# Redoc's menu footer loads its maker's logo from their CDN, with no option to turn it off: the
# bundle is served with that address replaced by an empty image, so the page loads nothing from
# outside the portal (and the CSP's img-src needs no exception).
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_IMAGE = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"


class SwaggerView(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"
    url_name = "api:schema"
    authentication_classes = []
    permission_classes = []
    title = "MSP Portal API"


# Redoc draws with styled-components, which writes <style> elements at run time: that page
# alone allows inline styles (never inline scripts), and its search runs in a blob: worker.
@method_decorator(csp_update({"style-src": [UNSAFE_INLINE], "worker-src": ["blob:"]}), name="dispatch")
class RedocView(SpectacularRedocView):
    template_name = "api/redoc.html"

    @staticmethod
    def _redoc_standalone():
        return reverse("api:redoc_bundle")

    url_name = "api:schema"
    authentication_classes = []
    permission_classes = []
    title = "MSP Portal API"


@functools.cache
def _redoc_bundle() -> bytes:
    return REDOC_BUNDLE.read_text(encoding="utf-8").replace(REDOC_LOGO, EMPTY_IMAGE).encode()


@require_GET
@cache_control(max_age=86400, public=True)
def redoc_bundle(request):
    return HttpResponse(_redoc_bundle(), content_type="application/javascript; charset=utf-8")
