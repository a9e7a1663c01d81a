"""A provider that asks a chain of providers in order.

Vendors fail in ordinary ways (rate limits, a used-up daily budget, an outage,
a symbol one of them does not carry), and the risk figures should still come
out. :class:`FailoverProvider` asks each provider in turn, passes on only the
symbols still missing, and keeps per-provider counts for a status endpoint.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from marketdata.providers.base import (
    MarketDataProvider,
    Profile,
    ProviderError,
    QuoteData,
    empty_history,
)

logger = logging.getLogger(__name__)


class ProviderNotConfigured(Exception):
    """A provider cannot be built from the configuration given (e.g. no API key)."""


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class FailoverProvider:
    """Ask ``providers`` in order; move on after a :class:`ProviderError`.

    For history and quotes each provider is asked only for the symbols the ones
    before it did not return. :class:`ProviderError` is raised only when every
    provider asked has failed; symbols no provider knows are left out, as the
    protocol says. Errors that are not ProviderError are bugs and propagate.
    """

    name = "failover"

    def __init__(
        self,
        providers: Sequence[MarketDataProvider],
        *,
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        self.providers = list(providers)
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: list[str] = []
        self._stats: dict[str, dict[str, Any]] = {}
        for provider in self.providers:
            key, n = provider.name, 2
            while key in self._stats:  # two providers of one kind stay apart
                key, n = f"{provider.name}#{n}", n + 1
            self._keys.append(key)
            self._stats[key] = {
                "calls": 0,
                "errors": 0,
                "last_success": None,
                "last_error": None,
                "last_error_at": None,
            }

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per provider, in chain order: calls, errors, last_success and last_error_at
        (ISO 8601 UTC or None) and last_error (the message)."""
        with self._lock:
            return {
                key: {
                    **entry,
                    "last_success": _iso(entry["last_success"]),
                    "last_error_at": _iso(entry["last_error_at"]),
                }
                for key, entry in self._stats.items()
            }

    def _record(self, key: str, error: ProviderError | None) -> None:
        with self._lock:
            entry = self._stats[key]
            entry["calls"] += 1
            if error is None:
                entry["last_success"] = self._clock()
            else:
                entry["errors"] += 1
                entry["last_error"] = str(error)
                entry["last_error_at"] = self._clock()

    def _all_failed(self, what: str, errors: list[str]) -> ProviderError:
        detail = "; ".join(errors) if errors else "no provider configured"
        return ProviderError(f"failover: every provider failed for {what}: {detail}")

    def history(self, symbols: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
        missing = list(dict.fromkeys(symbols))
        if not missing:
            return empty_history()
        frames: list[pd.DataFrame] = []
        errors: list[str] = []
        answered = False
        for key, provider in zip(self._keys, self.providers, strict=True):
            if not missing:
                break
            try:
                frame = provider.history(missing, start, end)
            except ProviderError as exc:
                self._record(key, exc)
                errors.append(f"{key}: {exc}")
                logger.warning("failover: %s failed for history: %s", key, exc)
                continue
            self._record(key, None)
            answered = True
            frame = frame[frame["symbol"].isin(missing)]
            if not frame.empty:
                frames.append(frame)
            got = set(frame["symbol"])
            missing = [s for s in missing if s not in got]
        if not answered:
            raise self._all_failed("history", errors)
        if not frames:
            return empty_history()
        return pd.concat(frames, ignore_index=True).sort_values(
            ["symbol", "date"], ignore_index=True
        )

    def quotes(self, symbols: Sequence[str]) -> list[QuoteData]:
        missing = list(dict.fromkeys(symbols))
        if not missing:
            return []
        found: dict[str, QuoteData] = {}
        errors: list[str] = []
        answered = False
        for key, provider in zip(self._keys, self.providers, strict=True):
            if not missing:
                break
            try:
                quotes = provider.quotes(missing)
            except ProviderError as exc:
                self._record(key, exc)
                errors.append(f"{key}: {exc}")
                logger.warning("failover: %s failed for quotes: %s", key, exc)
                continue
            self._record(key, None)
            answered = True
            for quote in quotes:
                if quote.symbol in missing and quote.symbol not in found:
                    found[quote.symbol] = quote
            missing = [s for s in missing if s not in found]
        if not answered:
            raise self._all_failed("quotes", errors)
        return [found[s] for s in dict.fromkeys(symbols) if s in found]

    def profile(self, symbol: str) -> Profile | None:
        errors: list[str] = []
        answered = False
        for key, provider in zip(self._keys, self.providers, strict=True):
            try:
                profile = provider.profile(symbol)
            except ProviderError as exc:
                self._record(key, exc)
                errors.append(f"{key}: {exc}")
                logger.warning("failover: %s failed for profile %s: %s", key, symbol, exc)
                continue
            self._record(key, None)
            answered = True
            if profile is not None:
                return profile
        if not answered:
            raise self._all_failed(f"profile {symbol}", errors)
        return None


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def build_provider(
    order: list[str],
    *,
    factories: dict[str, Callable[[], MarketDataProvider]],
) -> MarketDataProvider:
    """The failover chain for ``order`` (e.g. ``["polygon", "fmp", "csv", "simulated"]``).

    Names whose factory raises :class:`ProviderNotConfigured` are skipped, so a
    missing API key only drops that vendor. An unknown name is a configuration
    mistake and raises :class:`ValueError`; an order in which nothing could be
    built raises :class:`ProviderNotConfigured`, so a backend without prices
    fails at start-up rather than on the first request.
    """
    unknown = [name for name in order if name not in factories]
    if unknown:
        raise ValueError(f"unknown market-data providers {unknown}; known: {sorted(factories)}")
    built: list[MarketDataProvider] = []
    for name in order:
        try:
            built.append(factories[name]())
        except ProviderNotConfigured as exc:
            logger.info("market data: skipping %s: %s", name, exc)
    if not built:
        raise ProviderNotConfigured(f"no market-data provider in {order} is configured")
    return FailoverProvider(built)
