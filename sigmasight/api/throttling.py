"""Fixed-window rate limits kept in the Django cache (Redis in production).

Limits are per user, or per client IP where no user is known, with the defaults of
the Smart-0DTE spec (auth 10/min, market data 100/min, trading 50/min, analytics
20/min, global 1000/min). Each limit is a setting (``RATE_LIMITS``). The counter is
one ``incr`` on a key per (scope, client, window), so it is atomic across workers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

RATE_LIMIT_ATTR = "_sigmasight_rate_limit"


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset: int  # epoch seconds when the window ends

    @property
    def exceeded(self) -> bool:
        return self.remaining < 0

    @property
    def retry_after(self) -> int:
        return max(1, self.reset - int(time.time()))


def client_ip(request: HttpRequest) -> str:
    """The client address, trusting ``NUM_PROXIES`` hops of X-Forwarded-For."""
    hops = settings.NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if hops and forwarded:
        addresses = [a.strip() for a in forwarded.split(",") if a.strip()]
        if addresses:
            return addresses[-min(hops, len(addresses))]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def hit(scope: str, ident: str, *, now: float | None = None) -> RateLimitState:
    """Count one request for ``ident`` in ``scope`` and return the window's state."""
    limit = settings.RATE_LIMITS[scope]
    window = settings.RATE_LIMIT_WINDOW_SECONDS
    now = time.time() if now is None else now
    window_start = int(now // window * window)
    key = f"{settings.RATE_LIMIT_KEY_PREFIX}:{scope}:{ident}:{window_start}"
    if cache.add(key, 1, timeout=window + 5):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=window + 5)
            count = 1
    return RateLimitState(limit=limit, remaining=limit - count, reset=window_start + window)


def remember(request: HttpRequest, state: RateLimitState) -> None:
    """Keep the tightest state seen for this request, for the response headers."""
    previous: RateLimitState | None = getattr(request, RATE_LIMIT_ATTR, None)
    if previous is None or state.remaining < previous.remaining or state.exceeded:
        setattr(request, RATE_LIMIT_ATTR, state)


def _ident(request: Request) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{client_ip(request._request)}"


class ScopedRateThrottle(BaseThrottle):
    """A limit for one scope. Subclasses set ``scope``."""

    scope = "global"

    def allow_request(self, request: Request, view: Any) -> bool:
        state = hit(self.scope, _ident(request))
        remember(request._request, state)
        self._state = state
        return not state.exceeded

    def wait(self) -> float | None:
        return float(self._state.retry_after)


class GlobalRateThrottle(ScopedRateThrottle):
    scope = "global"


class AuthRateThrottle(ScopedRateThrottle):
    scope = "auth"


class MarketRateThrottle(ScopedRateThrottle):
    scope = "market"


class TradingRateThrottle(ScopedRateThrottle):
    scope = "trading"


class AnalyticsRateThrottle(ScopedRateThrottle):
    scope = "analytics"


def throttles(*scoped: type[ScopedRateThrottle]) -> list[type[BaseThrottle]]:
    """The global limit plus the given scoped ones, for a view's ``throttle_classes``."""
    return [GlobalRateThrottle, *scoped]
