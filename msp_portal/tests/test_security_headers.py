"""Content-Security-Policy and Permissions-Policy on every response: each page of the portal for
a signed-in administrator, the public pages (the sign-in page first), the error pages; and the
report endpoint the policy names."""

import json
import logging

import pytest
from django.conf import settings
from django.test import override_settings

from msp_portal.permissions import Role
from msp_portal.tests.test_url_permissions import build_kwargs, persona_for, project_routes, url_for  # noqa: F401

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "report-uri": "/csp-report/",
}


def _directives(header: str | None) -> dict[str, str]:
    parts = [part.strip().split(" ", 1) for part in (header or "").split(";") if part.strip()]
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


def _missing(response) -> list[str]:
    missing = []
    if _directives(response.headers.get("Content-Security-Policy")) != POLICY:
        missing.append(f"Content-Security-Policy: {response.headers.get('Content-Security-Policy')!r}")
    if "camera=()" not in response.headers.get("Permissions-Policy", ""):
        missing.append(f"Permissions-Policy: {response.headers.get('Permissions-Policy')!r}")
    return missing


def test_the_sign_in_page_and_the_public_pages_carry_both_policies(client):
    problems = []
    for url in ["/accounts/login/", "/accounts/password-reset/", "/healthz", "/favicon.ico", "/no-such-page/", "/"]:
        response = client.get(url)
        problems += [f"GET {url} ({response.status_code}): {item}" for item in _missing(response)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OPERATOR_ADMIN])
def test_every_page_carries_both_policies(role, persona_for):  # noqa: F811
    persona, client = persona_for(role)
    problems = []
    for route in project_routes():
        url = url_for(route, build_kwargs(route, persona))
        response = client.get(url)
        problems += [f"GET {url} ({response.status_code}): {item}" for item in _missing(response)]
    assert not problems, "\n".join(problems)


def test_the_policy_allows_no_inline_script_style_or_eval():
    assert not any("unsafe" in value for value in POLICY.values())
    assert settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["script-src"] == ["'self'"]


def test_a_violation_report_is_logged_and_changes_nothing(client, caplog):
    report = {
        "csp-report": {
            "document-uri": "https://portal.example/customers/",
            "violated-directive": "script-src-elem",
            "blocked-uri": "https://evil.example/x.js",
        }
    }
    with caplog.at_level(logging.WARNING, logger="msp_portal.csp"):
        response = client.post("/csp-report/", json.dumps(report), content_type="application/csp-report")
    assert response.status_code == 204
    assert "script-src-elem blocked https://evil.example/x.js on https://portal.example/customers/" in caplog.text
    with caplog.at_level(logging.WARNING, logger="msp_portal.csp"):
        assert client.post("/csp-report/", "not json", content_type="application/csp-report").status_code == 204
    assert "CSP report that is not one" in caplog.text
    assert client.get("/csp-report/").status_code == 405


def test_the_report_only_switch_sends_the_policy_as_a_report(client):
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    with override_settings(
        CONTENT_SECURITY_POLICY=None, CONTENT_SECURITY_POLICY_REPORT_ONLY={"DIRECTIVES": directives}
    ):
        response = client.get("/accounts/login/")
    assert "Content-Security-Policy" not in response.headers
    assert _directives(response.headers["Content-Security-Policy-Report-Only"]) == POLICY
