"""``SimulatedProvider``: the provider interface over the generated universe.

It resolves symbols (case, aliases, OCC options), picks the rows and the quote session,
and delegates the model to :mod:`.universe` (prices), :mod:`.quotes` (quotes) and
:mod:`.reference` (reference data).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from marketdata import calendar
from marketdata.occ import InvalidOptionSymbol, parse_occ
from marketdata.providers.base import HISTORY_COLUMNS, Profile, QuoteData, empty_history
from marketdata.providers.simulated.derived import derived_universe
from marketdata.providers.simulated.dividends import DIVIDEND_SOURCE, adjusted_close, dividends
from marketdata.providers.simulated.index_universe import DEFAULT_INDEX_UNIVERSE_PATH
from marketdata.providers.simulated.intraday import (
    CORRELATION_SESSIONS,
    MARKET_SYMBOL,
    DailyBar,
    SessionMinutes,
    session_minutes,
)
from marketdata.providers.simulated.quotes import _equity_quote, _option_inputs, _option_quote
from marketdata.providers.simulated.reference import (
    DEFAULT_HISTORY_PATH,
    DEFAULT_REFERENCE_PATH,
    _file_key,
    _read_history,
    _read_index_universe,
    _read_reference,
    _Reference,
    _Security,
)
from marketdata.providers.simulated.universe import _horizon, _Universe, _universe

DEFAULT_SEED = 20240101
#: Risk-free rate of option quotes (continuously compounded annual decimal).
DEFAULT_RATE = 0.04
#: ``index_universe_path`` default: the shipped index universe with the shipped reference
#: file, none with another reference file (its proxy members may not exist there).
SHIPPED = "shipped"


class SimulatedProvider:
    """Deterministic simulated prices, quotes and reference data (see the package docstring).

    ``seed`` fixes every simulated value; ``today`` is the last date generated (default:
    the last completed NYSE session at construction); ``now`` is the quote timestamp
    (default: the close of the last session on or before ``today``); ``rate`` is the
    risk-free rate used for option quotes (annual decimal, continuously compounded).
    ``index_universe_path`` names the index universe (S&P 500/600, NASDAQ-100 names on
    stated proxies, :mod:`.index_universe`); None for none.
    """

    name = "simulated"

    def __init__(
        self,
        seed: int = DEFAULT_SEED,
        today: dt.date | None = None,
        history_path: Path | str = DEFAULT_HISTORY_PATH,
        reference_path: Path | str = DEFAULT_REFERENCE_PATH,
        *,
        rate: float = DEFAULT_RATE,
        now: dt.datetime | None = None,
        index_universe_path: Path | str | None = SHIPPED,
    ) -> None:
        self.seed = int(seed)
        self.rate = float(rate)
        if today is None:
            today = calendar.last_completed_session(now or dt.datetime.now(dt.UTC))
        self.today = today
        last = today if calendar.is_session(today) else calendar.previous_session(today)
        self.now = now if now is not None else calendar.session_close_utc(last)
        # Quotes use the last session closed by ``now`` (and not after ``today``).
        closed = calendar.last_completed_session(self.now)
        self.quote_date: dt.date = min(last, closed)
        #: The session open at ``now``, whose quotes come from its minutes (None outside one).
        self.live_session: dt.date | None = None
        if last == today and calendar.session_open_utc(
            today
        ) <= self.now < calendar.session_close_utc(today):
            self.live_session = today
        self._history_key = _file_key(history_path)
        self._reference_key = _file_key(reference_path)
        if index_universe_path == SHIPPED:
            shipped = Path(reference_path).resolve() == DEFAULT_REFERENCE_PATH.resolve()
            index_universe_path = DEFAULT_INDEX_UNIVERSE_PATH if shipped else None
        self._index_key = _file_key(index_universe_path) if index_universe_path else None

    # -- internals -----------------------------------------------------------------------

    @property
    def _ref(self) -> _Reference:
        return _read_reference(*self._reference_key)

    @property
    def _u(self) -> _Universe:
        return _universe(
            self._history_key, self._reference_key, self.seed, _horizon(self._ref, self.today)
        )

    @property
    def _index(self) -> dict[str, _Security]:
        if self._index_key is None:
            return {}
        return _read_index_universe(*self._index_key, *self._reference_key)

    def _canonical(self, symbol: str) -> str | None:
        key = symbol.strip().upper()
        ref = self._ref
        if key in ref.securities:
            return key
        if key in ref.aliases:
            return ref.aliases[key]
        return key if key in self._index else None

    def _sec(self, canonical: str) -> _Security:
        return self._ref.securities.get(canonical) or self._index[canonical]

    def _u_for(self, canonical: str) -> _Universe:
        """The universe holding ``canonical``: the joint one, or its derived column."""
        if canonical in self._ref.securities:
            return self._u
        return derived_universe(self._u, self._index[canonical], self.seed)

    def _row(self, d: dt.date) -> int:
        """Grid index of the last session on or before ``d``."""
        u = self._u
        return int(np.searchsorted(u.dates, np.datetime64(d, "D"), side="right")) - 1

    # -- public API ----------------------------------------------------------------------

    def universe(self) -> list[str]:
        """Every curated symbol (securities.json), sorted; :meth:`index_symbols` adds the
        index universe."""
        return sorted(self._ref.securities)

    def index_symbols(self) -> list[str]:
        """The index-universe names (S&P 500, S&P 600, NASDAQ-100 not curated), sorted."""
        return sorted(self._index)

    def dividends(
        self, symbols: Sequence[str], start: dt.date, end: dt.date
    ) -> list[dict[str, Any]]:
        """Simulated cash dividends with ex-dates from ``start`` to ``min(end, today)``
        (rule: :mod:`.dividends`): dicts of symbol (as requested), ex_date, amount (USD per
        share, 4 decimals) and source, by symbol then date."""
        hi_date = min(end, self.today)
        out: list[dict[str, Any]] = []
        for requested in dict.fromkeys(symbols):
            canonical = self._canonical(requested) if not self._is_option(requested) else None
            if canonical is None:
                continue
            u = self._u_for(canonical)
            lo_i = int(np.searchsorted(u.dates, np.datetime64(start, "D"), side="left"))
            hi_i = int(np.searchsorted(u.dates, np.datetime64(hi_date, "D"), side="right"))
            for ex_date, amount in dividends(
                u, u.column[canonical], self._sec(canonical), lo_i, hi_i
            ):
                out.append(
                    {
                        "symbol": requested,
                        "ex_date": ex_date,
                        "amount": amount,
                        "source": DIVIDEND_SOURCE,
                    }
                )
        return out

    def proxy_for(self, symbol: str) -> dict[str, Any] | None:
        """The stated proxy of ``symbol`` (a copy of securities.json's ``proxy`` plus
        ``role``: "history" for a symbol without real history, "gap_fill" for a real one,
        whose proxy only fills days it has no real bar), or None (^GSPC, options)."""
        canonical = self._canonical(symbol)
        if canonical is None:
            return None
        info = self._sec(canonical).info
        if not info.get("proxy"):
            return None
        role = "history" if info.get("history") == "proxy" else "gap_fill"
        return {**info["proxy"], "role": role}

    def history(self, symbols: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
        """Daily bars in HISTORY_COLUMNS order, sorted by symbol then date, for sessions from
        ``start`` to ``min(end, today)``; unknown symbols (and options) are left out. Rows
        carry the symbol exactly as requested (an alias such as VIX stays VIX; symbols are
        matched case-insensitively), as the failover chain matches answers by that string."""
        base = self._u
        hi_date = min(end, self.today)
        lo_i = int(np.searchsorted(base.dates, np.datetime64(start, "D"), side="left"))
        hi_i = int(np.searchsorted(base.dates, np.datetime64(hi_date, "D"), side="right"))
        # Backward adjustment as of the last session returned (point in time): a window
        # ending earlier reads what it would have read then, and consecutive windows join up
        # once the store applies each later dividend's factor (marketdata.services).
        as_of_i = self._row(hi_date)
        parts: list[dict[str, np.ndarray]] = []
        seen: set[str] = set()
        for requested in symbols:
            canonical = self._canonical(requested)
            label = requested
            if canonical is None or label in seen or hi_i <= lo_i:
                continue
            seen.add(label)
            u = self._u_for(canonical)
            j = u.column[canonical]
            rows = np.arange(lo_i, hi_i)
            rows = rows[u.source[lo_i:hi_i, j] >= 0]
            if rows.size == 0:
                continue
            parts.append(
                {
                    "symbol": np.full(rows.size, label, dtype=object),
                    "date": u.dates[rows].astype(object),
                    "open": u.open[rows, j],
                    "high": u.high[rows, j],
                    "low": u.low[rows, j],
                    "close": u.close[rows, j],
                    "adj_close": adjusted_close(u, j, self._sec(canonical), rows, as_of_i),
                    "volume": u.volume[rows, j],
                    "source": np.asarray(u.sources, dtype=object)[u.source[rows, j]],
                }
            )
        if not parts:
            return empty_history()
        parts.sort(key=lambda p: p["symbol"][0])
        frame = pd.DataFrame(
            {col: np.concatenate([p[col] for p in parts]) for col in HISTORY_COLUMNS}
        )
        return frame.reset_index(drop=True)

    def minute_bars(self, symbols: Sequence[str], session: dt.date) -> dict[str, SessionMinutes]:
        """Minute bars of ``symbols`` over the whole of ``session`` (up to ``today``), keyed
        by the symbol as requested: the simulated intraday process inside each simulated
        daily bar (:mod:`.intraday`), which they agree with exactly. Symbols without a bar
        that session (unknown ones, options, real rows without OHLC) are left out."""
        if not calendar.is_session(session) or session > self.today:
            return {}
        start = session - dt.timedelta(days=int(CORRELATION_SESSIONS * 1.6) + 10)
        wanted = list(dict.fromkeys([*symbols, MARKET_SYMBOL]))
        frame = self.history(wanted, start, session)
        if frame.empty:
            return {}
        closes = frame.pivot(index="date", columns="symbol", values="close").sort_index()
        returns = np.log(closes / closes.shift(1)).iloc[1:-1].tail(CORRELATION_SESSIONS)
        bars: dict[str, DailyBar] = {}
        for row in frame[frame["date"] == session].itertuples(index=False):
            o, h, lo, c = (float(x) for x in (row.open, row.high, row.low, row.close))
            if np.isfinite([o, h, lo, c]).all() and 0 < lo <= min(o, c) <= max(o, c) <= h:
                bars[str(row.symbol)] = DailyBar(o, h, lo, c, float(row.volume))
        if MARKET_SYMBOL not in bars:
            return {}
        correlation: dict[str, float] = {}
        if MARKET_SYMBOL in returns:
            for symbol in bars:
                if symbol in returns:
                    value = returns[symbol].corr(returns[MARKET_SYMBOL])
                    correlation[symbol] = float(value) if np.isfinite(value) else 0.0
        out = session_minutes(
            seed=self.seed, session=session, bars=bars, market_correlation=correlation
        )
        return {s: out[s] for s in symbols if s in out}

    def quotes(self, symbols: Sequence[str]) -> list[QuoteData]:
        """Quotes at ``now``, each carrying the symbol exactly as requested; unknown symbols
        are left out.

        * Outside a session (the default ``now``): end-of-day quotes, ``last`` the close of
          the quote session (the last session closed by ``now``).
        * During a session (``now`` inside ``today``'s): ``last`` is the close of the last
          completed minute of the symbol's intraday path (:meth:`minute_bars`; the opening
          print in the first minute), its volume the session's so far, stamped at the end
          of that minute. Options are priced at that underlying price with the minutes left
          to their expiry. Symbols without minutes (mutual funds) keep the end-of-day quote.

        Stocks and ETFs get a bid/ask of EQUITY_SPREAD_BPS by tier around ``last``, rounded
        out to the cent; mutual funds trade at NAV (bid = ask = last, no sizes); indices have
        no bid/ask. OCC option symbols are priced by :meth:`option_inputs`."""
        live = self._live_prices(symbols) if self.live_session is not None else {}
        out: list[QuoteData] = []
        for symbol in symbols:
            quote = self._option_quote(symbol, live) if self._is_option(symbol) else None
            if quote is None:
                quote = self._equity_quote(symbol, live)
            if quote is not None:
                out.append(quote)
        return out

    def _live_minute(self) -> tuple[int, dt.datetime]:
        """The completed minutes of the live session at ``now`` and the end of the last one."""
        assert self.live_session is not None
        opened = calendar.session_open_utc(self.live_session)
        minute = int((self.now - opened).total_seconds() // 60)
        return minute, opened + dt.timedelta(minutes=minute)

    def _live_prices(self, symbols: Sequence[str]) -> dict[str, tuple[float, float | None]]:
        """(last, volume so far) of each symbol, or option's underlying, that trades in the
        live session, keyed by canonical symbol: derived on demand from its minutes."""
        assert self.live_session is not None
        wanted: list[str] = []
        for symbol in symbols:
            name = parse_occ(symbol).underlying if self._is_option(symbol) else symbol
            canonical = self._canonical(name)
            if canonical is not None:
                wanted.append(canonical)
        minute, _ = self._live_minute()
        out: dict[str, tuple[float, float | None]] = {}
        for canonical, bars in self.minute_bars(
            list(dict.fromkeys(wanted)), self.live_session
        ).items():
            if minute <= 0:
                out[canonical] = (float(bars.open[0]), 0.0)
                continue
            last = float(bars.close[min(minute, len(bars.close)) - 1])
            so_far = bars.volume[:minute]
            volume = float(np.nansum(so_far)) if np.isfinite(so_far).any() else None
            out[canonical] = (last, volume)
        return out

    def profile(self, symbol: str) -> Profile | None:
        """Reference data from securities.json; options get asset_type "option" and their
        underlying's sector and industry. None for an unknown symbol."""
        canonical = self._canonical(symbol)
        if canonical is not None:
            return self._profile(canonical, symbol)
        if not self._is_option(symbol):
            return None
        contract = parse_occ(symbol)
        under = self._canonical(contract.underlying)
        if under is None:
            return None
        base_info = self._sec(under).info
        right = "Call" if contract.is_call else "Put"
        return Profile(
            symbol=symbol,
            name=f"{contract.underlying} {contract.expiry.isoformat()} {contract.strike} {right}",
            asset_type="option",
            sector=base_info.get("sector"),
            industry=base_info.get("industry"),
            exchange=None,
            source="simulated (option on " + under + ", reference data securities.json)",
        )

    def option_inputs(self, symbol: str) -> dict[str, Any] | None:
        """The inputs and model price behind an option quote, or None when ``symbol`` is not
        an option on a known underlying. Keys: underlying, model ("bsm" or "black76"), spot
        (the underlying's close, the forward for Black-76), strike, minutes (to the expiry
        session's close), t (years), rate, div_yield (0 where unknown), sigma (annualized),
        sigma_ewma and sigma_long (the underlying's realized vols), is_call, multiplier,
        mid (the model price per unit of underlying, unrounded)."""
        return self._option_inputs(symbol, {})

    def _option_inputs(
        self, symbol: str, live: dict[str, tuple[float, float | None]]
    ) -> dict[str, Any] | None:
        """:meth:`option_inputs`, at the live underlying price where ``live`` has it (the
        minutes to expiry then counted from the end of the last completed minute), with
        the moment priced as ``now``."""
        if not self._is_option(symbol):
            return None
        contract = parse_occ(symbol)
        under = self._canonical(contract.underlying)
        if under is None:
            return None
        now, spot = self.now, None
        if under in live:
            _, now = self._live_minute()
            spot = live[under][0]
        inputs = _option_inputs(
            self._u_for(under),
            self._row(self.quote_date),
            self._sec(under),
            contract,
            now=now,
            rate=self.rate,
            spot=spot,
        )
        return None if inputs is None else {**inputs, "now": now}

    # -- quotes --------------------------------------------------------------------------

    def _is_option(self, symbol: str) -> bool:
        if self._canonical(symbol) is not None:
            return False
        try:
            parse_occ(symbol)
        except InvalidOptionSymbol:
            return False
        return True

    def _equity_quote(
        self, symbol: str, live: dict[str, tuple[float, float | None]]
    ) -> QuoteData | None:
        canonical = self._canonical(symbol)
        if canonical is None:
            return None
        now, last, volume = self.now, None, None
        if canonical in live:
            _, now = self._live_minute()
            last, volume = live[canonical]
        return _equity_quote(
            self._u_for(canonical),
            self._row(self.quote_date),
            self._sec(canonical),
            symbol,
            seed=self.seed,
            quote_date=self.quote_date,
            now=now,
            last=last,
            volume=volume,
        )

    def _option_quote(
        self, symbol: str, live: dict[str, tuple[float, float | None]]
    ) -> QuoteData | None:
        inputs = self._option_inputs(symbol, live)
        if inputs is None:
            return None
        return _option_quote(
            symbol,
            inputs,
            self._sec(inputs["underlying"]),
            seed=self.seed,
            quote_date=self.quote_date,
            now=inputs["now"],
        )

    # -- reference data ------------------------------------------------------------------

    def _profile(self, canonical: str, label: str) -> Profile:
        sec = self._sec(canonical)
        info = sec.info
        proxy_symbol = None
        basket_label = (info.get("proxy") or {}).get("label")
        if sec.proxy is not None and basket_label:
            proxy_symbol = str(basket_label)  # a named basket, e.g. "sector:Health Care"
        elif sec.proxy is not None and self._proxied_in_real_era(canonical):
            proxy_symbol = (
                next(iter(sec.proxy))
                if len(sec.proxy) == 1
                else "basket:" + "+".join(sorted(sec.proxy))
            )
        curated = canonical in self._ref.securities
        return Profile(
            symbol=label,
            name=info["name"],
            asset_type=info["asset_type"],
            sector=info.get("sector"),
            industry=info.get("industry"),
            exchange=info.get("exchange"),
            currency=info.get("currency") or "USD",
            dividend_yield=info.get("dividend_yield"),
            shares_outstanding=info.get("shares_outstanding"),
            eps_ttm=info.get("eps_ttm"),
            duration=info.get("duration"),
            proxy_symbol=proxy_symbol,
            isin=info.get("isin"),
            asset_class=info.get("asset_class"),
            source=(
                "securities.json (curated; see seed_data/REFERENCE_DATA.md)"
                if curated
                else "index_universe.json (pytickersymbols; proxied, simulated)"
            ),
        )

    def _proxied_in_real_era(self, canonical: str) -> bool:
        """True when part of the symbol's history before the file's last real date comes from
        its proxy: a proxied symbol, or a real one whose file ends early (^IXIC, ^VIX)."""
        real = _read_history(*self._history_key)
        end = self._real_end(canonical)
        file_end = max(series.dates[-1] for series in real.values()).astype(object)
        return end is None or end < file_end

    def _real_end(self, canonical: str) -> dt.date | None:
        """Last real date of ``canonical`` in the history file (None if it has none)."""
        series = _read_history(*self._history_key).get(canonical)
        return series.dates[-1].astype(object) if series is not None else None
