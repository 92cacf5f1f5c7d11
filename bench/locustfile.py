"""Simulated MSP admins browsing the customer list, for `manage.py bench_load` (locust, headless).

Each simulated user holds its own signed-in session (prepared by bench_load, second factor
verified) and browses as a person would, quickly: the list, a search, a sort, a filter, the
next pages, a popup. LOAD_TARGET=admin browses the Django admin's changelist the same way as
the superuser, for comparison. Every response must be 200 (a redirect to the sign-in page
would be an error, not a fast page)."""

from __future__ import annotations

import json
import os
import random

from locust import HttpUser, between, task

DATA = json.loads(open(os.environ["LOAD_DATA"], encoding="utf-8").read())  # noqa: SIM115 - read once at import
TARGET = os.environ.get("LOAD_TARGET", "portal")
SESSIONS = DATA[TARGET]
TERMS = DATA["terms"]
CUSTOMERS = DATA["customers"]
HEADERS = {"X-Forwarded-Proto": "https", "Accept-Language": "ja"}


class Browsing(HttpUser):
    wait_time = between(0.2, 0.6)

    def on_start(self):
        self.client.headers.update(HEADERS)
        self.client.cookies.set("sessionid", SESSIONS[random.randrange(len(SESSIONS))])

    def _get(self, url: str, name: str, **headers):
        with self.client.get(url, name=name, headers=headers, allow_redirects=False, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")

    def _list(self, query: str = "", name: str = "list"):
        base = DATA["list_url"] if TARGET == "portal" else DATA["admin_url"]
        self._get(f"{base}?{query}" if query else base, name)

    @task(4)
    def list_page(self):
        self._list()

    @task(3)
    def search(self):
        term = random.choice(TERMS)
        self._list(f"q={term}", "search")

    @task(2)
    def sort(self):
        self._list(random.choice(DATA[f"{TARGET}_sorts"]), "sort")

    @task(2)
    def filter(self):
        self._list(random.choice(DATA[f"{TARGET}_filters"]), "filter")

    @task(2)
    def page(self):
        self._list(f"{DATA[f'{TARGET}_page']}={random.randint(2, 40)}", "page")

    @task(1)
    def popup(self):
        customer = random.choice(CUSTOMERS)
        if TARGET == "portal":
            self._get(DATA["popup_url"].format(id=customer), "popup", **{"HX-Request": "true"})
        else:
            self._get(DATA["admin_change_url"].format(id=customer), "popup")
