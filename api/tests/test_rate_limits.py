"""Rate limits per key, with RateLimit headers on every answer and 429 + Retry-After beyond.

Time stands still inside a window (a slow run must not cross into the next one), and the count
lives in this process's memory (parallel test workers share one Redis and clear it between
tests); test_the_count_is_shared_in_redis checks the count on Redis itself."""

from __future__ import annotations

import datetime as dt

import pytest

LOCAL_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rate-limits"}}
IN_A_WINDOW = dt.datetime(2026, 11, 24, 10, 0, 5, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _still_time_and_local_count(request, settings, time_machine):
    time_machine.move_to(IN_A_WINDOW, tick=False)
    if "redis" not in request.keywords:
        settings.CACHES = LOCAL_CACHE


def test_every_answer_carries_the_rate_limit_headers(msp_admin, customer, api_for, settings):
    settings.PORTAL_API_RATE_LIMIT = "5/min"
    api = api_for(msp_admin)
    ok = api.get(f"/api/v1/customers/{customer.pk}/")
    missing = api.get("/api/v1/customers/999999/")
    assert ok.status_code == 200 and missing.status_code == 404
    assert ok["RateLimit-Limit"] == "5" and ok["RateLimit-Remaining"] == "4"
    assert missing["RateLimit-Remaining"] == "3"
    assert ok["RateLimit-Reset"] == "55"


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
    settings.PORTAL_API_RATE_LIMIT = "1/min"
    api = api_for(msp_admin)
    assert api.get(f"/api/v1/customers/{customer.pk}/").status_code == 200
    assert api.get(f"/api/v1/customers/{customer.pk}/").status_code == 429
    time_machine.move_to(dt.datetime(2026, 11, 24, 10, 1, 1, tzinfo=dt.UTC), tick=False)
    assert api.get(f"/api/v1/customers/{customer.pk}/").status_code == 200


@pytest.mark.redis
def test_the_count_is_shared_in_redis(msp_admin, customer, api_for, settings):
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    settings.PORTAL_API_RATE_LIMIT = "2/min"
    api = api_for(msp_admin)
    statuses = [api.get(f"/api/v1/customers/{customer.pk}/").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert any(key.startswith(":1:api:rate:") for key in _redis_keys(settings))


def _redis_keys(settings) -> list[str]:
    import redis

    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    return [key.decode() for key in client.keys("*api:rate:*")]
