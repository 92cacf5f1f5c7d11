"""A webhook receiver on the loopback, run by the test: a real HTTP server in a thread that
verifies every request's signature with the standardwebhooks library, as a customer's system
would, and answers with the status the test sets."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from accounts.tests.factories import UserFactory
from webhooks.models import Endpoint


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    payload: dict | None
    verified: bool


@dataclass
class Receiver:
    url: str
    secret: str = ""
    # The answers to give, in order; the last one is repeated.
    statuses: list[int] = field(default_factory=lambda: [200])
    received: list[Received] = field(default_factory=list)

    def verified(self) -> list[Received]:
        return [request for request in self.received if request.verified]


@pytest.fixture
def receiver(settings):
    settings.PORTAL_WEBHOOK_ALLOW_LOCAL = True
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {key.lower(): value for key, value in self.headers.items()}
            try:
                payload = Webhook(state.secret).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                payload, verified = None, False
            index = min(len(state.received), len(state.statuses) - 1)
            state.received.append(Received(headers=headers, body=body, payload=payload, verified=verified))
            status = state.statuses[index] if verified else 400
            answer = b"ok" if status < 300 else ("x" * 3000).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/portal"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def endpoint_for(receiver):
    """`endpoint_for(organization, [event types])`: an enabled endpoint at the receiver, whose
    secret the receiver verifies with."""

    def make(organization, event_types, **fields) -> Endpoint:
        endpoint = Endpoint.objects.create(
            organization=organization, url=receiver.url, event_types=list(event_types), **fields
        )
        receiver.secret = endpoint.secret
        return endpoint

    return make


@pytest.fixture
def english_admin(msp_org):
    return UserFactory(
        email="msp-admin-en@test.example",
        membership__organization=msp_org,
        membership__role="admin",
        language="en",
    )
