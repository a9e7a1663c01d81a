"""Sliding-window rate limits kept in the Django cache (Redis in production).

Limits are per user, or per client IP where no user is known, with the defaults of
the Smart-0DTE spec (auth 10/min, market data 100/min, trading 50/min, analytics
20/min, global 1000/min). Each limit is a setting (``RATE_LIMITS``, requests per
``RATE_LIMIT_WINDOW_SECONDS``).

The window slides: a fixed per-minute counter let a client spend its limit at the end
of one minute and again at the start of the next (20 logins in 9.7 s). Here the count
is the *sliding-window counter* approximation on two cache counters, the current
window's and the previous one's::

    count = floor(previous × (window − elapsed) / window) + current

so the previous window's requests fade out linearly instead of vanishing at the
boundary: after the limit was spent at the end of one minute, the first 6 s of the
next admit one request more (auth: 11 logins, against 20 with the fixed window), the
next 6 s one more, and so on. Like every form of this approximation it assumes the
previous window's requests were spread evenly, so any 60 s can hold more than the
limit when they came late in it; a burst cannot.

Atomicity: each counter is changed only with the cache's ``incr``/``decr`` (Redis
``INCR`` in production, a locked update in the local-memory cache of the embedded
default), so concurrent workers never lose a count and never admit more than the
limit. A refused request is taken back out of the count (so under contention one may
be refused while another's refusal is still being taken back: a few fewer pass, never
more). A client that keeps knocking is therefore admitted again as soon as it retries
after ``Retry-After`` seconds, and the limit means "admitted requests per window".

This is also the login limiter of the Django admin (see
:mod:`sigmasight.api.middleware`), rather than django-axes: axes would be a second
limiter with its own storage (database tables), its own lockout responses (not the
error envelope, no ``X-RateLimit-*``), and an authentication backend that requires
``request`` on every ``authenticate()`` call the API's login makes. One limiter keeps
one set of settings, headers and semantics for every path.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.http import HttpRequest, JsonResponse
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from sigmasight.api.errors import rate_limited_body
from sigmasight.cache import SharedPoolRedisCache

RATE_LIMIT_ATTR = "_sigmasight_rate_limit"


@dataclass(frozen=True)
class RateLimitState:
    """One limit's state after a request was counted (or refused)."""

    limit: int  # requests per window
    remaining: int  # negative once the request was refused
    reset: int  # epoch seconds when the current window ends
    retry_after: int = 0  # seconds until a request would be admitted again (refused only)

    @property
    def exceeded(self) -> bool:
        return self.remaining < 0


def client_ip(request: HttpRequest) -> str:
    """The client address, trusting ``NUM_PROXIES`` hops of X-Forwarded-For."""
    hops = settings.NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if hops and forwarded:
        addresses = [a.strip() for a in forwarded.split(",") if a.strip()]
        if addresses:
            return addresses[-min(hops, len(addresses))]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def request_ident(request: HttpRequest | Request) -> str:
    """``user:<pk>`` for a known user (session or token), else ``ip:<address>``."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    django_request = request._request if isinstance(request, Request) else request
    return f"ip:{client_ip(django_request)}"


def username_ident(username: str) -> str:
    """A key part for a submitted login name: hashed, so cache keys stay short and
    never hold what a client typed."""
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return f"username:{digest}"


def _counts(previous_key: str, current_key: str, timeout: int) -> tuple[int, int]:
    """(the previous window's count, the current one's after counting this request). On
    Redis one pipelined round trip (GET, INCR, EXPIRE) instead of two or three: a request
    passes two limits, and these round trips were most of a cached read's time."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    if not isinstance(backend, SharedPoolRedisCache):
        return int(cache.get(previous_key, 0)), _incr(current_key, timeout=timeout)
    current = backend.make_key(current_key)
    pipe = backend.redis().pipeline(transaction=False)
    pipe.get(backend.make_key(previous_key))
    pipe.incr(current)
    # Renewed on each hit, so it outlives its window and the next (where it is "previous").
    pipe.expire(current, timeout)
    previous, counted, _ = pipe.execute()
    return int(previous or 0), int(counted)


def _incr(key: str, timeout: int) -> int:
    try:
        return int(cache.incr(key))
    except ValueError:  # the window's first request
        if cache.add(key, 1, timeout=timeout):
            return 1
        return int(cache.incr(key))  # another worker added it first


def _seconds_until_admitted(
    *, limit: int, previous: int, current: int, elapsed: float, window: int
) -> float:
    """Seconds from now until one more request fits, if nobody else sends any.

    ``current`` no longer includes the refused request. Within this window the
    previous count has to fade below ``limit − current``; otherwise the next window
    starts with ``current`` as its previous count, fading the same way.
    """
    room = limit - current  # what this window's own count leaves of the limit
    if room >= 1:
        if previous == 0:
            return 0.0
        # floor(previous × (window − t) / window) ≤ room − 1  ⇔  t > window × (1 − room / previous)
        return max(0.0, window * (1 - room / previous) - elapsed)
    if limit < 1:
        return 2 * window - elapsed  # nothing is ever admitted; say when the counts are gone
    fade_next = window * (1 - limit / current) if current > limit else 0.0
    return window - elapsed + fade_next


def hit(scope: str, ident: str, *, now: float | None = None) -> RateLimitState:
    """Count one request for ``ident`` in ``scope`` and return the limit's state.

    A refused request (``state.exceeded``) is not counted. ``now`` is in epoch seconds.
    """
    limit = settings.RATE_LIMITS[scope]
    window = settings.RATE_LIMIT_WINDOW_SECONDS
    now = time.time() if now is None else now
    window_start = int(now // window * window)
    elapsed = now - window_start
    base = f"{settings.RATE_LIMIT_KEY_PREFIX}:{scope}:{ident}"
    current_key = f"{base}:{window_start}"
    # Each counter lives through its own window and the next one, where it is the
    # "previous" count; it is created in its window, so it cannot expire while current.
    previous, current = _counts(
        f"{base}:{window_start - window}", current_key, timeout=2 * window + 5
    )
    count = math.floor(previous * (window - elapsed) / window) + current
    reset = window_start + window
    if count <= limit:
        return RateLimitState(limit=limit, remaining=limit - count, reset=reset)
    with contextlib.suppress(ValueError):  # the cache was cleared meanwhile: nothing to take back
        cache.decr(current_key)
    wait = _seconds_until_admitted(
        limit=limit, previous=previous, current=current - 1, elapsed=elapsed, window=window
    )
    return RateLimitState(
        limit=limit, remaining=limit - count, reset=reset, retry_after=max(1, math.ceil(wait))
    )


def remember(request: HttpRequest, state: RateLimitState) -> None:
    """Keep the tightest state seen for this request, for the response headers."""
    previous: RateLimitState | None = getattr(request, RATE_LIMIT_ATTR, None)
    if previous is None or state.remaining < previous.remaining or state.exceeded:
        setattr(request, RATE_LIMIT_ATTR, state)


def too_many_requests(state: RateLimitState) -> JsonResponse:
    """The 429 answer outside DRF views (the admin, unknown paths, error short-cuts)."""
    response = JsonResponse(rate_limited_body(state.retry_after), status=429)
    response["Retry-After"] = str(state.retry_after)
    return response


class ScopedRateThrottle(BaseThrottle):
    """A limit for one scope. Subclasses set ``scope``."""

    scope = "global"

    def allow_request(self, request: Request, view: Any) -> bool:
        state = hit(self.scope, request_ident(request))
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
