"""Rate limits per API key on the cache (Redis when REDIS_URL is set): a fixed window of
PORTAL_API_RATE_LIMIT requests, counted with the cache's atomic increment so that several web
processes share one count. Every answer carries RateLimit-Limit, -Remaining and -Reset
(draft-ietf-httpapi-ratelimit-headers); beyond the limit, 429 with Retry-After."""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import BaseThrottle

from msp_portal.middleware import client_ip

from .models import ApiKey

_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "600/min" → (600, 60)."""
    try:
        count, period = rate.split("/")
        return int(count), _PERIODS[period.strip().lower()]
    except (ValueError, KeyError):
        raise ImproperlyConfigured(f"PORTAL_API_RATE_LIMIT must look like 600/min, not {rate!r}") from None


class KeyRateThrottle(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        limit, period = parse_rate(settings.PORTAL_API_RATE_LIMIT)
        api_key = request.auth
        # Unauthenticated calls (which answer 401 before this) never reach here; a key's calls
        # count against the key, whichever address they come from.
        ident = api_key.prefix if isinstance(api_key, ApiKey) else f"ip:{client_ip(request)}"
        now = time.time()
        window = int(now // period)
        cache_key = f"api:rate:{ident}:{window}"
        cache.add(cache_key, 0, timeout=period + 1)
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.set(cache_key, 1, timeout=period + 1)
            count = 1
        self.reset = max(1, math.ceil((window + 1) * period - now))
        request.rate_limit = {"limit": limit, "remaining": max(0, limit - count), "reset": self.reset, "period": period}
        return count <= limit

    def wait(self) -> int:
        return self.reset


def rate_limit_headers(request) -> dict[str, str]:
    state = getattr(request, "rate_limit", None)
    if state is None:
        return {}
    return {
        "RateLimit-Limit": str(state["limit"]),
        "RateLimit-Remaining": str(state["remaining"]),
        "RateLimit-Reset": str(state["reset"]),
        "RateLimit-Policy": f"{state['limit']};w={state['period']}",
    }
