"""A small retrying JSON client shared by the HTTP vendors (FMP, Polygon).

Why not a retry library: the rules are few and vendor-shaped (429 with
``Retry-After``, a daily request budget that must be checked *before* a request
leaves the machine, keys that must never reach a log), and tests need to see
every sleep. Everything here is plain Python over :class:`httpx.Client`; the
Django app passes configuration in and may back :class:`RequestBudget` with its
cache through the :class:`CounterStore` protocol.

Keys travel in request headers, never in the query string, because httpx logs
each request URL at INFO level. Every message this module raises or logs is
still passed through :func:`mask_secrets` in case a vendor echoes a key back
(or a ``next_url`` carries one).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urljoin

import httpx

from marketdata.providers.base import BudgetExhausted, ProviderError, RateLimited, SymbolNotFound

logger = logging.getLogger(__name__)

#: Query parameters that carry credentials in the vendors' documented URLs.
_KEY_PARAM = re.compile(r"(?i)\b(api[_-]?key|apikey|token|access_token)=([^&\s\"']+)")
_KEY_PARAM_NAMES = {"apikey", "api_key", "token", "access_token"}
_MASK = "***"


def mask_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each secret and any ``apikey=...``-style value replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, _MASK)
    return _KEY_PARAM.sub(lambda m: f"{m.group(1)}={_MASK}", text)


def utc_now() -> dt.datetime:
    """The current time, timezone-aware UTC (a function so tests can pass a fixed clock)."""
    return dt.datetime.now(dt.UTC)


# --------------------------------------------------------------------------- budget


class CounterStore(Protocol):
    """Where request counts live. The Django cache satisfies it with ``add(key, 0, ttl)``
    followed by ``incr(key)``, so counts are shared by every worker process."""

    def incr(self, key: str, ttl_seconds: int) -> int:
        """Add one to ``key`` (created at 0 with ``ttl_seconds`` to live) and return the new count."""
        ...


class InMemoryCounterStore:
    """A per-process :class:`CounterStore`; enough for one worker and for tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def incr(self, key: str, ttl_seconds: int) -> int:
        now = self._clock()
        with self._lock:
            count, expires = self._counts.get(key, (0, now + ttl_seconds))
            if now >= expires:
                count, expires = 0, now + ttl_seconds
            count += 1
            self._counts[key] = (count, expires)
            return count


class RequestBudget:
    """At most ``per_day`` requests per UTC day for one provider.

    Free vendor plans cap requests per day (FMP's free plan: 250), and going over
    either fails for the rest of the day or costs money, so the count is taken
    before each attempt, retries included, and :class:`BudgetExhausted` is raised
    instead of sending.
    """

    def __init__(
        self,
        provider: str,
        per_day: int,
        store: CounterStore | None = None,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        if per_day < 0:
            raise ValueError("per_day must be >= 0")
        self.provider = provider
        self.per_day = per_day
        self.store: CounterStore = store if store is not None else InMemoryCounterStore()
        self._clock = clock

    def key(self) -> str:
        """The counter key for today, e.g. ``marketdata:budget:fmp:2025-01-02``."""
        return f"marketdata:budget:{self.provider}:{self._clock().date().isoformat()}"

    def consume(self) -> int:
        """Count one request and return today's count; raise when the budget is used up."""
        now = self._clock()
        midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), dt.UTC)
        # One spare hour so a slow clock elsewhere cannot revive yesterday's key.
        ttl = int((midnight - now).total_seconds()) + 3600
        count = self.store.incr(self.key(), ttl)
        if count > self.per_day:
            raise BudgetExhausted(
                f"{self.provider}: daily request budget of {self.per_day} is used up "
                f"(UTC day {now.date().isoformat()})"
            )
        return count


# --------------------------------------------------------------------------- retries


@dataclass(frozen=True)
class RetryPolicy:
    """Deterministic exponential backoff: attempt ``n`` (1-based) that fails is
    followed by ``min(max_delay, base_delay * factor ** (n - 1))`` seconds of sleep.

    No jitter: one process talks to each vendor, and tests assert exact sleeps.
    A ``Retry-After`` header replaces the computed delay; one longer than
    ``max_retry_after`` seconds gives up at once (a daily-limit 429 can ask for
    hours, and the failover chain should move on instead of blocking a worker).
    """

    max_attempts: int = 4
    base_delay: float = 0.5
    factor: float = 2.0
    max_delay: float = 30.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int) -> float:
        return min(self.max_delay, self.base_delay * self.factor ** (attempt - 1))


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


class _Retryable(Exception):
    """Internal: one attempt failed in a way worth another try."""

    def __init__(self, message: str, *, rate_limited: bool, retry_after: float | None) -> None:
        super().__init__(message)
        self.rate_limited = rate_limited
        self.retry_after = retry_after


class JSONClient:
    """GET JSON from one vendor with retries, a budget and masked errors.

    ``client`` is any :class:`httpx.Client` (tests pass one over
    :class:`httpx.MockTransport`); when omitted one is created and owned here.
    ``headers`` carry the credentials; ``secrets`` are masked in every message.
    """

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        client: httpx.Client | None = None,
        headers: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
        budget: RequestBudget | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], dt.datetime] = utc_now,
        timeout: float = 15.0,
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/") + "/"
        self._owns_client = client is None
        self.client = client if client is not None else httpx.Client(timeout=timeout)
        self.headers = dict(headers or {})
        self.secrets = tuple(s for s in secrets if s)
        self.budget = budget
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.clock = clock
        self.timeout = timeout

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    def mask(self, text: str) -> str:
        return mask_secrets(text, self.secrets)

    def url_for(self, path_or_url: str) -> str:
        """An absolute URL: paths are joined to ``base_url``; absolute URLs (a ``next_url``)
        are kept, less any credential parameter: the key travels in a header, and
        httpx would log a URL that held it."""
        if not path_or_url.startswith(("http://", "https://")):
            return urljoin(self.base_url, path_or_url.lstrip("/"))
        url = httpx.URL(path_or_url)
        for name in list(url.params.keys()):
            if name.lower().replace("-", "_") in _KEY_PARAM_NAMES:
                url = url.copy_remove_param(name)
        return str(url)

    def get_json(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> Any:
        """The decoded JSON body of ``GET path_or_url``.

        Raises :class:`BudgetExhausted` before sending when the budget is used up,
        :class:`SymbolNotFound` on 404, :class:`RateLimited` when 429s outlast the
        retries, and :class:`ProviderError` for everything else that fails.
        """
        url = self.url_for(path_or_url)
        # httpx replaces a URL's own query when params are given, so a next_url
        # (which carries its cursor in the query) is sent with params=None.
        request = self.client.build_request(
            "GET",
            url,
            params=dict(params) if params else None,
            headers=self.headers,
            timeout=self.timeout,
        )
        shown = self.mask(str(request.url))
        attempts = max(1, self.retry.max_attempts)
        for attempt in range(1, attempts + 1):
            if self.budget is not None:
                self.budget.consume()
            try:
                return self._attempt(request, shown)
            except _Retryable as failure:
                error_cls = RateLimited if failure.rate_limited else ProviderError
                if attempt == attempts:
                    raise error_cls(f"{failure} (gave up after {attempts} attempts)") from None
                wait = self.retry.delay(attempt)
                if failure.retry_after is not None:
                    if failure.retry_after > self.retry.max_retry_after:
                        raise error_cls(
                            f"{failure} (Retry-After {failure.retry_after:g}s exceeds "
                            f"{self.retry.max_retry_after:g}s; not waiting)"
                        ) from None
                    wait = failure.retry_after
                logger.warning(
                    "%s: attempt %d/%d failed (%s); retrying in %.2fs",
                    self.provider,
                    attempt,
                    attempts,
                    failure,
                    wait,
                )
                self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(self, request: httpx.Request, shown: str) -> Any:
        """One send. Returns the JSON body, raises _Retryable or a final ProviderError."""
        try:
            response = self.client.send(request)
        except httpx.TransportError as exc:
            # The exception text can include the URL; only its masked form leaves here.
            raise _Retryable(
                f"{self.provider}: {type(exc).__name__} for GET {shown}: {self.mask(str(exc))}",
                rate_limited=False,
                retry_after=None,
            ) from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise _Retryable(
                f"{self.provider}: HTTP {status} for GET {shown}{self._detail(response)}",
                rate_limited=status == 429,
                retry_after=parse_retry_after(response.headers.get("Retry-After"), self.clock()),
            )
        if status == 404:
            raise SymbolNotFound(
                f"{self.provider}: HTTP 404 for GET {shown}{self._detail(response)}"
            )
        if status >= 400:
            raise ProviderError(
                f"{self.provider}: HTTP {status} for GET {shown}{self._detail(response)}"
            )
        try:
            return response.json()
        except ValueError:
            raise ProviderError(f"{self.provider}: invalid JSON from GET {shown}") from None

    def _detail(self, response: httpx.Response) -> str:
        """The vendor's own error text (masked, shortened), for the operator reading the error."""
        try:
            body = response.json()
        except ValueError:
            text = response.text.strip()
        else:
            text = ""
            if isinstance(body, Mapping):
                for field in ("Error Message", "error", "message", "detail"):
                    if isinstance(body.get(field), str):
                        text = body[field]
                        break
        text = self.mask(" ".join(text.split()))[:200]
        return f": {text}" if text else ""
