"""The inputs of the simulation: the shipped real history and the curated reference data.

``seed_data/real_history.csv.gz`` holds the real daily rows (``seed_data/PROVENANCE.md``);
``seed_data/securities.json`` holds every symbol's reference data, proxy relation, anchor and
mean reversion (``seed_data/REFERENCE_DATA.md``). Both are read once per (path, mtime).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from marketdata.providers.base import HISTORY_COLUMNS

SEED_DIR = Path(__file__).resolve().parents[2] / "seed_data"
DEFAULT_HISTORY_PATH = SEED_DIR / "real_history.csv.gz"
DEFAULT_REFERENCE_PATH = SEED_DIR / "securities.json"


def _file_key(path: Path | str) -> tuple[str, int]:
    """(resolved path, mtime in ns): the key of the readers' caches and of the universe's."""
    p = Path(path).resolve()
    return str(p), p.stat().st_mtime_ns


@dataclass(frozen=True)
class _RealSeries:
    """One symbol's real rows, sorted by date; NaN where the source has no such field."""

    dates: np.ndarray  # datetime64[D]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    adj_close: np.ndarray
    volume: np.ndarray
    source: np.ndarray  # object (str)


@lru_cache(maxsize=4)
def _read_history(path: str, mtime_ns: int) -> dict[str, _RealSeries]:
    """Real rows per symbol from a file in HISTORY_COLUMNS layout (mtime only keys the cache)."""
    frame = pd.read_csv(path, dtype={"symbol": str, "date": str, "source": str})
    missing = set(HISTORY_COLUMNS) - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    frame["date"] = pd.to_datetime(frame["date"]).values.astype("datetime64[D]")
    frame = frame.sort_values(["symbol", "date"], kind="stable")
    out: dict[str, _RealSeries] = {}
    for symbol, rows in frame.groupby("symbol", sort=False):
        close = rows["close"].to_numpy(np.float64)
        adj = rows["adj_close"].to_numpy(np.float64)
        out[str(symbol)] = _RealSeries(
            dates=rows["date"].to_numpy().astype("datetime64[D]"),
            open=rows["open"].to_numpy(np.float64),
            high=rows["high"].to_numpy(np.float64),
            low=rows["low"].to_numpy(np.float64),
            close=close,
            adj_close=np.where(np.isnan(adj), close, adj),
            volume=rows["volume"].to_numpy(np.float64),
            source=rows["source"].fillna("real").to_numpy(object),
        )
    return out


@dataclass(frozen=True)
class _Security:
    """One entry of securities.json, parsed for the price model."""

    symbol: str
    info: dict[str, Any]
    proxy: dict[str, float] | None  # {member: weight}; None for a root (^GSPC)
    beta: float
    residual_vol: float  # annualized
    anchor_date: dt.date | None
    anchor_close: float | None
    first_date: dt.date | None
    mean_reversion: tuple[float, float, float, float] | None  # level, kappa/session, floor, cap

    @property
    def asset_type(self) -> str:
        return str(self.info["asset_type"])


@dataclass(frozen=True)
class _Reference:
    securities: dict[str, _Security]
    aliases: dict[str, str]
    order: tuple[str, ...]  # proxies before the symbols that use them


def _parse_security(symbol: str, info: dict[str, Any]) -> _Security:
    """One reference entry (securities.json layout) as a :class:`_Security`."""
    proxy = info.get("proxy")
    weights: dict[str, float] | None = None
    beta = resid = 0.0
    if proxy:
        target = proxy["symbol"]
        weights = {target: 1.0} if isinstance(target, str) else dict(target)
        if not math.isclose(sum(weights.values()), 1.0, abs_tol=1e-9):
            raise ValueError(f"{symbol}: proxy basket weights must sum to 1, got {weights}")
        beta = float(proxy["beta"])
        resid = float(proxy["residual_vol"])
    anchor = info.get("anchor") or {}
    mr = info.get("mean_reversion")
    return _Security(
        symbol=symbol,
        info=info,
        proxy=weights,
        beta=beta,
        residual_vol=resid,
        anchor_date=dt.date.fromisoformat(anchor["date"]) if anchor.get("date") else None,
        anchor_close=float(anchor["close"]) if anchor.get("close") is not None else None,
        first_date=(
            dt.date.fromisoformat(info["first_trade_date"])
            if info.get("first_trade_date")
            else None
        ),
        mean_reversion=(
            (
                float(mr["level"]),
                math.log(2.0) / float(mr["half_life_sessions"]),
                float(mr.get("floor") or 0.0),
                float(mr.get("cap") or math.inf),
            )
            if mr
            else None
        ),
    )


@lru_cache(maxsize=4)
def _read_reference(path: str, mtime_ns: int) -> _Reference:
    """Parse and check securities.json: known proxies, no proxy cycles, basket weights."""
    with open(path, encoding="utf-8") as fh:
        raw = json.load(fh)
    securities = {
        symbol: _parse_security(symbol, info) for symbol, info in raw["securities"].items()
    }
    for sec in securities.values():
        for member in sec.proxy or {}:
            if member not in securities:
                raise ValueError(f"{sec.symbol}: unknown proxy member {member!r}")
        if sec.info.get("history") == "proxy" and sec.proxy is None:
            raise ValueError(f"{sec.symbol}: history 'proxy' needs a proxy")
    aliases = {str(k).upper(): str(v) for k, v in raw.get("aliases", {}).items()}
    return _Reference(securities, aliases, _topological(securities))


def _topological(securities: dict[str, _Security]) -> tuple[str, ...]:
    """Symbols ordered so that every proxy member comes before its users."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(symbol: str, path: tuple[str, ...]) -> None:
        if state.get(symbol) == 2:
            return
        if state.get(symbol) == 1:
            raise ValueError(f"proxy cycle: {' -> '.join((*path, symbol))}")
        state[symbol] = 1
        for member in securities[symbol].proxy or {}:
            visit(member, (*path, symbol))
        state[symbol] = 2
        order.append(symbol)

    for symbol in securities:
        visit(symbol, ())
    return tuple(order)


@lru_cache(maxsize=4)
def _read_index_universe(
    path: str, mtime_ns: int, reference_path: str, reference_mtime_ns: int
) -> dict[str, _Security]:
    """The index universe (``index_universe.json``, see :mod:`.index_universe`) as
    securities whose proxy members are real-history symbols of the reference; a name the
    reference curates is left out (the curated entry is authoritative)."""
    with open(path, encoding="utf-8") as fh:
        raw = json.load(fh)
    reference = _read_reference(reference_path, reference_mtime_ns)
    proxies: dict[str, dict[str, Any]] = raw["proxies"]
    out: dict[str, _Security] = {}
    for symbol, entry in raw["securities"].items():
        if symbol in reference.securities or symbol in reference.aliases:
            continue
        label = entry["proxy"]
        info = {**entry, "proxy": {**proxies[label], "label": label}}
        sec = _parse_security(symbol, info)
        for member in sec.proxy or {}:
            if member not in reference.securities:
                raise ValueError(f"{symbol}: unknown proxy member {member!r}")
        out[symbol] = sec
    return out
