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
import sys

TARGET = os.environ.get("LOAD_TARGET", "portal")
HEADERS = {"X-Forwarded-Proto": "https", "Accept-Language": "ja"}
_loaded: dict = {}


def _data() -> dict:
    """What bench_load prepared (sessions, URLs, terms), read on first use: importing this
    module (the project's source checks do) needs no load run."""
    if not _loaded:
        with open(os.environ["LOAD_DATA"], encoding="utf-8") as data:
            _loaded.update(json.load(data))
    return _loaded


# Importing locust patches the whole process for gevent, which breaks anything else that imports
# this module (the project's source checks import every module): the simulated user is defined
# only when locust itself loads the file, having imported locust first.
if "locust" in sys.modules:
    from locust import HttpUser, between
    from locust import task as locust_task  # a locust task, not a Celery one (msp_portal.tests.test_celery_tasks)

    class Browsing(HttpUser):
        wait_time = between(0.2, 0.6)

        def on_start(self):
            sessions = _data()[TARGET]
            self.client.headers.update(HEADERS)
            self.client.cookies.set("sessionid", sessions[random.randrange(len(sessions))])

        def _get(self, url: str, name: str, **headers):
            with self.client.get(
                url, name=name, headers=headers, allow_redirects=False, catch_response=True
            ) as response:
                if response.status_code != 200:
                    response.failure(f"{response.status_code}")

        def _list(self, query: str = "", name: str = "list"):
            base = _data()["list_url"] if TARGET == "portal" else _data()["admin_url"]
            self._get(f"{base}?{query}" if query else base, name)

        @locust_task(4)
        def list_page(self):
            self._list()

        @locust_task(3)
        def search(self):
            self._list(f"q={random.choice(_data()['terms'])}", "search")

        @locust_task(2)
        def sort(self):
            self._list(random.choice(_data()[f"{TARGET}_sorts"]), "sort")

        @locust_task(2)
        def filter(self):
            self._list(random.choice(_data()[f"{TARGET}_filters"]), "filter")

        @locust_task(2)
        def page(self):
            self._list(f"{_data()[f'{TARGET}_page']}={random.randint(2, 40)}", "page")

        @locust_task(1)
        def popup(self):
            customer = random.choice(_data()["customers"])
            if TARGET == "portal":
                self._get(_data()["popup_url"].format(id=customer), "popup", **{"HX-Request": "true"})
            else:
                self._get(_data()["admin_change_url"].format(id=customer), "popup")
