"""A portfolio "book" as arrays, and full revaluation of it under scenarios.

Pure numpy: no Django, no pandas. Options are repriced with :mod:`risk.engine.pricing`
(``bsm_price`` / ``black76_price``, and their Greeks for dollar deltas); this module writes
no pricer of its own. See docs RISK-MODEL.md ("Options", "VaR, ES and performance",
"Stress scenarios").

Conventions, in every function here:

* a scenario moves each *underlying* by a relative (simple) return ``r`` (0.05 = +5%);
  a stock, ETF or fund is its own underlying (its ``underlying_index`` points at its own
  price series), an option points at its underlying's;
* implied volatility moves by a relative change ``vol_shock`` (2.0 = +200%, i.e. x3), the
  same for every option in a scenario, and is floored at ``SIGMA_FLOOR`` (1e-4);
* the risk-free rate moves by an absolute ``rate_shift`` (0.01 = +100bp, continuously
  compounded decimal), applied to every option's discount rate;
* ``horizon_days`` is in *calendar* days: options are repriced at ``t - horizon_days/365``
  (an option whose expiry falls inside the horizon is worth its intrinsic value);
* P&L is in dollars: positive a gain, negative a loss.

P&L of a scenario for position i (quantity q signed, contract multiplier m):

* stock: ``q * m * spot0[u] * r[u]`` (linear; no dividend or carry over the horizon);
* option: ``q * m * (V(spot0[u] * (1 + r[u]), sigma * (1 + vol_shock), t - h/365,
  rate + rate_shift) - price0)`` with V the BSM price (model 0) or the Black-76 price with
  the shocked VIX level as the forward (model 1). A return below -100% leaves the
  underlying at 0 (not negative).

``price0`` is today's mark. If a mark and the model price at today's inputs differ (an
implied volatility from the chain rather than from the option's own quote), every
scenario carries that difference; :func:`model_prices` gives the model marks that make the
zero scenario exactly 0.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from risk.engine.pricing import (
    black76_greeks,
    black76_price,
    bsm_greeks,
    bsm_price,
    bsm_scenario_prices,
)

__all__ = [
    "CHUNK_ELEMENTS",
    "DAYS_PER_YEAR",
    "MODEL_BLACK76",
    "MODEL_BSM",
    "SIGMA_FLOOR",
    "Book",
    "dollar_delta",
    "market_values",
    "model_prices",
    "portfolio_pnl",
    "position_weights",
    "revalue",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]

MODEL_BSM = 0
MODEL_BLACK76 = 1
#: Floor of a shocked implied volatility (annual fraction).
SIGMA_FLOOR = 1e-4
#: Calendar days per year: time decay of ``h`` calendar days is ``h / 365`` years.
DAYS_PER_YEAR = 365.0
#: Scenario x option prices computed per pricing call: about 1 MB per float64 temporary.
#: Larger fresh temporaries cost page faults, which the engine's threads serialize on
#: (measured: 2^20 was 15-25% slower on a 10,000-path Monte Carlo, same figures).
CHUNK_ELEMENTS = 1 << 17
_STOCK_CHUNK_ELEMENTS = 1 << 16  # 512 KB of output per pass of the stock gather


def _float(x: ArrayLike, name: str, ndim: int = 1) -> FloatArray:
    a = np.array(x, dtype=np.float64)  # a private copy: the book is immutable
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-d, got shape {a.shape}")
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Book:
    """Positions as parallel arrays (length n) and underlyings (length u).

    Per position:

    * ``quantity``: signed number of shares or contracts (negative = short);
    * ``multiplier``: units of underlying per contract (100 for listed equity options, 1
      for stocks);
    * ``is_option``: bool;
    * ``underlying_index``: index into ``spot0`` (a stock points at its own series);
    * ``strike`` ($ per unit of underlying), ``t_years`` (years to expiry, minutes/525,600),
      ``is_call`` (bool), ``rate`` and ``div_yield`` (continuously compounded annual
      decimals), ``sigma`` (implied or realized volatility, annual fraction), ``model``
      (``MODEL_BSM`` = 0 or ``MODEL_BLACK76`` = 1, the latter for VIX options): read for
      options only (anything finite, e.g. 0, for stocks);
    * ``price0``: today's mark, $ per unit of underlying (per share; per option on one
      unit, not x100).

    * ``vol_beta`` (optional, default 1): how the option's implied volatility follows a
      scenario's volatility change: sigma x (1 + vol_shock) ** vol_beta, i.e. its log IV
      change is vol_beta x the scenario's (a per-underlying sensitivity to the VIX, 1 for
      a plain sticky-relative move, 0 to hold it; RISK-MODEL "VaR, ES and performance").

    Per underlying: ``spot0``, today's price ($; the VIX level for Black-76 options).

    The constructor copies every array to float64 / bool / intp and makes it read-only.
    """

    quantity: FloatArray
    multiplier: FloatArray
    is_option: BoolArray
    underlying_index: IntArray
    strike: FloatArray
    t_years: FloatArray
    is_call: BoolArray
    rate: FloatArray
    div_yield: FloatArray
    sigma: FloatArray
    model: NDArray[np.int8]
    spot0: FloatArray
    price0: FloatArray
    vol_beta: FloatArray | None = None

    def __post_init__(self) -> None:
        if self.vol_beta is None:
            object.__setattr__(self, "vol_beta", np.ones(np.shape(self.quantity)))
        floats = (
            "quantity",
            "multiplier",
            "strike",
            "t_years",
            "rate",
            "div_yield",
            "sigma",
            "vol_beta",
        )
        for name in (*floats, "spot0", "price0"):
            object.__setattr__(self, name, _float(getattr(self, name), name))
        for name in ("is_option", "is_call"):
            a = np.array(getattr(self, name), dtype=bool)
            a.setflags(write=False)
            object.__setattr__(self, name, a)
        ui = np.array(self.underlying_index, dtype=np.intp)
        ui.setflags(write=False)
        object.__setattr__(self, "underlying_index", ui)
        model = np.array(self.model, dtype=np.int8)
        model.setflags(write=False)
        object.__setattr__(self, "model", model)

        n = self.quantity.shape[0]
        per_position = (*floats, "is_option", "is_call", "underlying_index", "model", "price0")
        for name in per_position:
            a = getattr(self, name)
            if a.shape != (n,):
                raise ValueError(f"{name} has shape {a.shape}, expected ({n},)")
        u = self.spot0.shape[0]
        if n and (ui.min() < 0 or ui.max() >= u):
            raise ValueError(f"underlying_index must lie in [0, {u})")
        if np.any(self.spot0[ui] <= 0.0) or not np.all(np.isfinite(self.spot0)):
            raise ValueError("spot0 must be finite and positive for every underlying in use")
        opt = self.is_option
        if np.any(~np.isin(model[opt], (MODEL_BSM, MODEL_BLACK76))):
            raise ValueError("model must be 0 (BSM) or 1 (Black-76) for options")
        if np.any(self.strike[opt] <= 0.0):
            raise ValueError("option strikes must be positive")

    @property
    def n_positions(self) -> int:
        return int(self.quantity.shape[0])

    @property
    def n_underlyings(self) -> int:
        return int(self.spot0.shape[0])


def market_values(book: Book) -> FloatArray:
    """Market value of each position in dollars, signed: ``quantity * multiplier * price0``."""
    return book.quantity * book.multiplier * book.price0


def position_weights(book: Book) -> FloatArray:
    """Weights |market value| / gross exposure (RISK-MODEL "Concentration"), fractions
    summing to 1 (all 0 for an empty or zero book)."""
    mv = np.abs(market_values(book))
    gross = mv.sum()
    return mv / gross if gross > 0.0 else np.zeros_like(mv)


def model_prices(book: Book) -> FloatArray:
    """Today's model price of each position, $ per unit of underlying: ``spot0`` of its
    underlying for a stock, the BSM / Black-76 price at today's inputs for an option. Use
    it as ``price0`` when marks and model disagree and scenario P&L must be model P&L."""
    out = book.spot0[book.underlying_index].copy()
    zero = np.zeros((1, book.n_underlyings))
    for cols, values in _option_values(book, zero, np.zeros(1), np.zeros(1), 0.0):
        out[cols] = values[0]
    return out


def _per_scenario(x: ArrayLike, s: int, name: str) -> FloatArray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 0:
        return np.full(s, float(a))
    if a.shape != (s,):
        raise ValueError(f"{name} must be a scalar or have shape ({s},), got {a.shape}")
    return a


def _shocks(book: Book, spot_shocks: ArrayLike) -> FloatArray:
    r = np.asarray(spot_shocks, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] != book.n_underlyings:
        raise ValueError(
            f"spot_shocks must have shape (S, {book.n_underlyings}), got {np.shape(r)}"
        )
    return r


def _option_groups(book: Book) -> list[tuple[IntArray, bool]]:
    """Option position indices, split by model: (indices, is_black76)."""
    opt = book.is_option
    b76 = book.model == MODEL_BLACK76
    groups = [(np.flatnonzero(opt & ~b76), False), (np.flatnonzero(opt & b76), True)]
    return [(idx, black76) for idx, black76 in groups if idx.size]


def _option_inputs(
    book: Book,
    idx: IntArray,
    r: FloatArray,
    vol: FloatArray,
    shift: FloatArray,
    horizon_days: float,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Shocked spot, sigma, t and rate, each (rows of r, len(idx)) or (len(idx),)."""
    ui = book.underlying_index[idx]
    spot = book.spot0[ui] * np.maximum(1.0 + r[:, ui], 0.0)
    vb = book.vol_beta[idx]  # type: ignore[index]
    if np.all(vb == 1.0):
        move = 1.0 + vol[:, None]
    else:  # (1 + shock) ** beta: pow(x, 1) is x exactly, so beta 1 is the plain move
        move = np.power(np.maximum(1.0 + vol[:, None], 0.0), vb)
    sigma = np.maximum(book.sigma[idx] * move, SIGMA_FLOOR)
    t = book.t_years[idx] - horizon_days / DAYS_PER_YEAR
    # (len(idx),) when no scenario shifts the rate (VaR): the kernels then take the
    # per-option fast path.
    rate = book.rate[idx] + shift[:, None] if np.any(shift) else book.rate[idx]
    return spot, sigma, t, rate


def _chunks(s: int, width: int, chunk_elements: int) -> Iterator[tuple[int, int]]:
    rows = max(1, chunk_elements // max(width, 1))
    for a in range(0, s, rows):
        yield a, min(s, a + rows)


def _option_values(
    book: Book, r: FloatArray, vol: FloatArray, shift: FloatArray, horizon_days: float
) -> Iterator[tuple[IntArray, FloatArray]]:
    """Yield (option position indices, repriced values [S, len(indices)], $ per unit of
    underlying), one model group (BSM, Black-76) at a time, all scenarios at once."""
    for idx, black76 in _option_groups(book):
        spot, sigma, t, rate = _option_inputs(book, idx, r, vol, shift, horizon_days)
        k, call = book.strike[idx], book.is_call[idx]
        if black76:
            values = black76_price(spot, k, t, rate, sigma, call)
        else:
            values = bsm_price(spot, k, t, rate, book.div_yield[idx], sigma, call)
        yield idx, values


def _option_pnl_chunks(
    book: Book,
    r: FloatArray,
    vol: FloatArray,
    shift: FloatArray,
    horizon_days: float,
    chunk_elements: int,
) -> Iterator[tuple[int, int, IntArray, FloatArray]]:
    """Yield (first row, last row + 1, option indices, P&L [rows, len(indices)] in $),
    scenario chunks of about ``chunk_elements`` prices per model group."""
    for idx, black76 in _option_groups(book):
        scale = book.quantity[idx] * book.multiplier[idx]
        base = book.price0[idx]
        k, call, q = book.strike[idx], book.is_call[idx], book.div_yield[idx]
        for a, b in _chunks(r.shape[0], idx.size, chunk_elements):
            spot, sigma, t, rate = _option_inputs(
                book, idx, r[a:b], vol[a:b], shift[a:b], horizon_days
            )
            if black76:
                value = black76_price(spot, k, t, rate, sigma, call)
            elif rate.ndim == 1:  # every input but spot and sigma is per option
                value = bsm_scenario_prices(spot, k, t, rate, q, sigma, call)
            else:
                value = bsm_price(spot, k, t, rate, q, sigma, call)
            value -= base
            value *= scale
            yield a, b, idx, value


def revalue(
    book: Book,
    spot_shocks: ArrayLike,
    vol_shock: ArrayLike = 0.0,
    rate_shift: ArrayLike = 0.0,
    horizon_days: float = 0.0,
    *,
    chunk_elements: int = CHUNK_ELEMENTS,
) -> FloatArray:
    """Full-revaluation P&L per scenario and position, dollars, shape (S, n).

    ``spot_shocks`` (S, u): relative return of each underlying in each scenario;
    ``vol_shock``: relative change of implied volatility, scalar or (S,);
    ``rate_shift``: absolute change of the rate (decimal), scalar or (S,);
    ``horizon_days``: calendar days of time decay (options at ``t - horizon_days/365``).

    Stocks are linear (``q*m*spot0*r``); options are repriced in full (module docstring).
    Memory: the (S, n) result plus pricing temporaries for about ``chunk_elements``
    options-by-scenarios at a time (options are priced in chunks of scenarios).
    """
    r = _shocks(book, spot_shocks)
    s = r.shape[0]
    vol = _per_scenario(vol_shock, s, "vol_shock")
    shift = _per_scenario(rate_shift, s, "rate_shift")
    out = np.empty((s, book.n_positions), dtype=np.float64)
    # Stocks: gather each position's underlying return straight into the output, times
    # the dollar exposure (0 for options, whose columns are overwritten below), a few
    # rows at a time so that the pass stays in cache and needs no (S, n) temporary.
    ui = book.underlying_index
    exposure = np.where(book.is_option, 0.0, book.quantity * book.multiplier * book.spot0[ui])
    for a, b in _chunks(s, book.n_positions, _STOCK_CHUNK_ELEMENTS):
        np.take(r[a:b], ui, axis=1, out=out[a:b])
        out[a:b] *= exposure
    for a, b, idx, pnl in _option_pnl_chunks(book, r, vol, shift, horizon_days, chunk_elements):
        out[a:b, idx] = pnl
    return out


def portfolio_pnl(
    book: Book,
    spot_shocks: ArrayLike,
    vol_shock: ArrayLike = 0.0,
    rate_shift: ArrayLike = 0.0,
    horizon_days: float = 0.0,
    *,
    chunk_elements: int = CHUNK_ELEMENTS,
) -> FloatArray:
    """Portfolio P&L per scenario, dollars, shape (S,): the row sums of :func:`revalue`
    (equal up to float rounding) without building the (S, n) matrix. Stocks enter as one
    matrix-vector product with the dollar exposure per underlying; options are repriced
    in scenario chunks. Arguments and units as in :func:`revalue`."""
    r = _shocks(book, spot_shocks)
    s = r.shape[0]
    vol = _per_scenario(vol_shock, s, "vol_shock")
    shift = _per_scenario(rate_shift, s, "rate_shift")
    stocks = ~book.is_option
    ui = book.underlying_index[stocks]
    weights = book.quantity[stocks] * book.multiplier[stocks] * book.spot0[ui]
    exposure = np.bincount(ui, weights=weights, minlength=book.n_underlyings)
    out = r @ exposure
    for a, b, _, pnl in _option_pnl_chunks(book, r, vol, shift, horizon_days, chunk_elements):
        out[a:b] += pnl.sum(axis=1)
    return out


def dollar_delta(
    book: Book,
    spot_shocks: ArrayLike,
    vol_shock: ArrayLike = 0.0,
    rate_shift: ArrayLike = 0.0,
    horizon_days: float = 0.0,
) -> FloatArray:
    """Dollar delta per scenario and underlying, shape (S, u), in dollars of P&L per unit
    relative move of the underlying (so a further return ``e`` adds ``e * dollar_delta``
    to first order), measured at the shocked state: ``sum q*m*delta*spot`` over the
    positions on each underlying, delta = 1 for stocks, the BSM delta (per $1 of spot) or
    the Black-76 delta (per $1 of the VIX level) for options. Arguments as in
    :func:`revalue`."""
    r = _shocks(book, spot_shocks)
    s = r.shape[0]
    vol = _per_scenario(vol_shock, s, "vol_shock")
    shift = _per_scenario(rate_shift, s, "rate_shift")
    ui_all = book.underlying_index
    per_position = (book.quantity * book.multiplier * book.spot0[ui_all]) * np.maximum(
        1.0 + r[:, ui_all], 0.0
    )
    per_position[:, book.is_option] = 0.0
    for idx, black76 in _option_groups(book):
        spot, sigma, t, rate = _option_inputs(book, idx, r, vol, shift, horizon_days)
        k, call = book.strike[idx], book.is_call[idx]
        if black76:
            delta = black76_greeks(spot, k, t, rate, sigma, call).delta
        else:
            delta = bsm_greeks(spot, k, t, rate, book.div_yield[idx], sigma, call).delta
        per_position[:, idx] = delta * spot * (book.quantity[idx] * book.multiplier[idx])
    out = np.zeros((book.n_underlyings, s), dtype=np.float64)
    np.add.at(out, ui_all, per_position.T)
    return out.T
