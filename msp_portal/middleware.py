"""Cross-cutting request handling: the interface language and the acting context."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation

from . import context


def client_ip(request) -> str | None:
    # Behind a TLS proxy the first X-Forwarded-For hop is the client; otherwise trust only
    # the socket address (a client can forge the header).
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:45]
    return request.META.get("REMOTE_ADDR")


class LanguageMiddleware:
    """Japanese unless the user chose otherwise (language cookie, then saved preference).

    Unlike Django's LocaleMiddleware this ignores the browser's Accept-Language: the portal is
    Japanese first, and the language switch in the header is the way to English.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in self.supported:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class RequestContextMiddleware:
    """Publish the request's IP address for the audit helper."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with context.acting(ip=client_ip(request), channel="web"):
            return self.get_response(request)
