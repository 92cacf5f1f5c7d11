"""The API's docs pages, served offline (drf-spectacular-sidecar's Swagger UI and Redoc from
the portal's static files) under the portal's strict CSP: the templates load only the portal's
own scripts and styles, and the Swagger UI's start-up script comes as a file of its own
(SpectacularSwaggerSplitView), not inline."""

from __future__ import annotations

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.utils.decorators import method_decorator
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView


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
    url_name = "api:schema"
    authentication_classes = []
    permission_classes = []
    title = "MSP Portal API"
