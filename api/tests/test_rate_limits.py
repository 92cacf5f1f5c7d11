"""Rate limits per key, with RateLimit headers on every answer and 429 + Retry-After beyond."""

from __future__ import annotations


def test_every_answer_carries_the_rate_limit_headers(msp_admin, customer, api_for, settings):
    settings.PORTAL_API_RATE_LIMIT = "5/min"
    api = api_for(msp_admin)
    ok = api.get(f"/api/v1/customers/{customer.pk}/")
    missing = api.get("/api/v1/customers/999999/")
    assert ok.status_code == 200 and missing.status_code == 404
    assert ok["RateLimit-Limit"] == "5" and ok["RateLimit-Remaining"] == "4"
    assert missing["RateLimit-Remaining"] == "3"
    assert 1 <= int(ok["RateLimit-Reset"]) <= 60


def test_beyond_the_limit_it_answers_429_with_retry_after(msp_admin, customer, api_for, settings):
    settings.PORTAL_API_RATE_LIMIT = "3/min"
    api = api_for(msp_admin)
    statuses = [api.get(f"/api/v1/customers/{customer.pk}/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = api.get(f"/api/v1/customers/{customer.pk}/")
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["RateLimit-Remaining"] == "0"


def test_the_limit_is_per_key(msp_admin, customer, api_for, settings):
    settings.PORTAL_API_RATE_LIMIT = "1/min"
    first, second = api_for(msp_admin), api_for(msp_admin)
    assert first.get(f"/api/v1/customers/{customer.pk}/").status_code == 200
    assert first.get(f"/api/v1/customers/{customer.pk}/").status_code == 429
    assert second.get(f"/api/v1/customers/{customer.pk}/").status_code == 200


def test_the_window_resets(msp_admin, customer, api_for, settings, time_machine):
    import datetime as dt

    time_machine.move_to(dt.datetime(2026, 11, 24, 10, 0, 5, tzinfo=dt.UTC), tick=False)
    settings.PORTAL_API_RATE_LIMIT = "1/min"
    api = api_for(msp_admin)
    assert api.get(f"/api/v1/customers/{customer.pk}/").status_code == 200
    assert api.get(f"/api/v1/customers/{customer.pk}/").status_code == 429
    time_machine.move_to(dt.datetime(2026, 11, 24, 10, 1, 1, tzinfo=dt.UTC), tick=False)
    assert api.get(f"/api/v1/customers/{customer.pk}/").status_code == 200
