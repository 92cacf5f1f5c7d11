"""One HTTP request of a delivery: signed per Standard Webhooks, short timeout, no redirects
followed, only to public addresses outside DEBUG (the address checked is the one connected to,
so a name that resolves to an internal address later cannot slip through)."""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext as _
from standardwebhooks import Webhook

from .models import RESPONSE_EXCERPT_BYTES

USER_AGENT = "MSP-Portal-Webhooks/1"


class AddressRefused(Exception):
    pass


@dataclass
class Outcome:
    status_code: int | None
    error: str
    duration_ms: int
    response_excerpt: str

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def body_of(payload: dict) -> bytes:
    """The bytes sent (and signed): the same for every attempt of a message."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder).encode()


def signature_headers(*, secrets: list[str], message_id: str, at, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers; one signature per secret (the current one, and the previous
    one for a day after a rotation), space-separated as the spec allows."""
    signatures = " ".join(Webhook(secret).sign(message_id, at, body) for secret in secrets)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }


def local_addresses_allowed() -> bool:
    return settings.PORTAL_WEBHOOK_ALLOW_LOCAL


def url_problem(url: str) -> str | None:
    """Why the URL cannot be an endpoint (a translated sentence), or None."""
    parts = urlsplit(url or "")
    allow_local = local_addresses_allowed()
    schemes = ("https", "http") if allow_local else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        return _("Enter an HTTPS URL.") if not allow_local else _("Enter an HTTP or HTTPS URL.")
    if parts.username or parts.password:
        return _("The URL must not contain a user name or password.")
    if not allow_local:
        host = parts.hostname
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
            return _("The URL must point to a public address, not a local or private one.")
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return None
        if not _public(address):
            return _("The URL must point to a public address, not a local or private one.")
    return None


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # An IPv4 address written as IPv6 (::ffff:10.0.0.1) is judged as the IPv4 address it is.
    address = getattr(address, "ipv4_mapped", None) or address
    return address.is_global and not address.is_multicast


def _resolve(host: str, port: int) -> str:
    """The address to connect to: the first one the name resolves to, all of them public
    (unless local addresses are allowed)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise AddressRefused("no address")
    if not local_addresses_allowed():
        for address in addresses:
            if not _public(ipaddress.ip_address(address.split("%")[0])):
                raise AddressRefused(f"{host} resolves to a non-public address")
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host, port, *, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, *, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST `body` to `url` once. Never raises for what the network or the receiver does: a
    refused address, a timeout or a TLS failure is the outcome's error."""
    started = time.monotonic()
    parts = urlsplit(url)
    status, error, excerpt = None, "", ""
    try:
        problem = url_problem(url)
        if problem:
            raise AddressRefused(problem)
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        address = _resolve(parts.hostname, port)
        connection_class = _PinnedHTTPSConnection if https else _PinnedHTTPConnection
        connection = connection_class(
            parts.hostname, port, address=address, timeout=settings.PORTAL_WEBHOOK_TIMEOUT_SECONDS
        )
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        try:
            connection.request(
                "POST",
                path,
                body=body,
                headers={
                    "Content-Type": "application/json",
                    "User-Agent": USER_AGENT,
                    "Content-Length": str(len(body)),
                    **headers,
                },
            )
            # A redirect is an answer like any other (3xx: not a success); it is never followed.
            response = connection.getresponse()
            status = response.status
            excerpt = response.read(RESPONSE_EXCERPT_BYTES).decode("utf-8", errors="replace")
        finally:
            connection.close()
    except AddressRefused as exc:
        error = str(exc)
    except TimeoutError:
        error = "timeout"
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"
    duration_ms = int((time.monotonic() - started) * 1000)
    return Outcome(status_code=status, error=error[:300], duration_ms=duration_ms, response_excerpt=excerpt)
