"""Cross-cutting request handling: the interface language, the acting context, the answer to a
request that overlapped with another one, and the Permissions-Policy header."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

from . import context
from .errors import OVERLAP_MESSAGE, is_overlap


def client_ip(request) -> str | None:
    # Behind a TLS proxy the first X-Forwarded-For hop is the client; otherwise trust only
    # the socket address (a client can forge the header).
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:45]
    return request.META.get("REMOTE_ADDR")


class PermissionsPolicyMiddleware:
    """Permissions-Policy (settings.PERMISSIONS_POLICY) on every response: the browser features
    the portal never uses are denied, so a script that got in could not use them either."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = settings.PERMISSIONS_POLICY

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.policy)
        return response


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


class OverlapMiddleware:
    """A request whose transaction overlapped with another one (a deadlock, a lock timeout) and
    was not retried to success by its service (msp_portal.errors.retried_atomic) is answered
    with a message on the page it came from, never a 500: its transaction was rolled back, so
    nothing changed and the user can simply try again."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_overlap(exception):
            return None
        messages.error(request, OVERLAP_MESSAGE)
        candidates = [request.headers.get("Referer")]
        if getattr(request, "htmx", False):
            candidates.insert(0, request.htmx.current_url)
        url = next(
            (
                url
                for url in candidates
                if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()})
            ),
            "/",
        )
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(url)
        return redirect(url)
