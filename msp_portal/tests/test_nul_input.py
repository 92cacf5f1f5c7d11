"""A NUL character in any field or query parameter never answers a server error.

PostgreSQL cannot store a NUL, nor take one as a query parameter: one that reaches the database
is a 500 there (SQLite accepts it, so these tests matter most with DATABASE_URL on PostgreSQL).
Every page of every route is opened as an MSP admin and as the operator (and the public and
customer-portal pages as a visitor and a customer admin); each form it shows is sent back with
its own values, one field at a time given a NUL.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from msp_portal.permissions import Role

from .test_url_permissions import _marker, build_kwargs, persona_for, project_routes, url_for  # noqa: F401

pytestmark = pytest.mark.django_db


class _Forms(HTMLParser):
    """The forms of a page: method, action and each field with the value the page gives it."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._form = self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        name = attributes.get("name")
        if tag == "form":
            self._form = {"method": (attributes.get("method") or "get").lower(), "action": attributes.get("action")}
            self._form["fields"] = {}
            self.forms.append(self._form)
        elif self._form is None or not name or name == "csrfmiddlewaretoken":
            return
        elif tag == "input" and attributes.get("type") not in ("file", "submit", "button"):
            if attributes.get("type") not in ("checkbox", "radio") or "checked" in attributes:
                self._form["fields"][name] = attributes.get("value") or ""
        elif tag == "textarea":
            self._textarea = name
            self._form["fields"][name] = ""
        elif tag == "select":
            self._select = name
            self._form["fields"].setdefault(name, "")
        if tag == "option" and self._select and "selected" in attributes:
            self._form["fields"][self._select] = attributes.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form["fields"][self._textarea] += data


def _server_errors(client, urls) -> tuple[list[str], int]:
    problems, sent = [], 0
    for url in urls:
        page = client.get(url)
        if page.status_code != 200 or "text/html" not in page.get("Content-Type", ""):
            continue
        parser = _Forms()
        parser.feed(page.content.decode(errors="replace"))
        for form in parser.forms:
            target = form["action"] or url
            for name in form["fields"]:
                data = {**form["fields"], name: (form["fields"][name] or "x") + "\x00"}
                send = client.get if form["method"] == "get" else client.post
                response = send(target, data)
                sent += 1
                if response.status_code >= 500:
                    problems.append(f"{form['method'].upper()} {target} with a NUL in {name}: {response.status_code}")
    return problems, sent


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OPERATOR_ADMIN])
def test_no_form_of_any_page_fails_on_a_nul_character(role, persona_for):  # noqa: F811
    persona, client = persona_for(role)
    urls = [url_for(route, build_kwargs(route, persona)) for route in project_routes()]
    problems, sent = _server_errors(client, urls)
    assert sent > 100
    assert not problems, "\n".join(problems)


def test_no_public_or_customer_admin_form_fails_on_a_nul_character(client, client_for, customer_admin, portal_customer):
    public = [url_for(route, {}) for route in project_routes() if _marker(route.callback) == "public"]
    problems, sent = _server_errors(client, [url for url in public if "<" not in url])
    code = portal_customer.account_code
    portal = [f"/c/{code}/{page}" for page in ("", "info/edit/", "admins/add/", "users/", "users/add/", "bulk/")]
    more, more_sent = _server_errors(client_for(customer_admin), portal)
    assert sent + more_sent > 10
    assert not problems + more, "\n".join(problems + more)
