"""European option pricing, Greeks and implied volatility on numpy arrays.

Pure numpy/scipy: no Django, no pandas. Every function broadcasts all of its array
arguments against each other (numpy rules) and returns float64 arrays of the broadcast
shape (0-d arrays for all-scalar input). No Python loop runs over options; the Greeks
are computed in cache-sized blocks of whole arrays.

Models (see docs RISK-MODEL.md, "Options"):

* **Black-Scholes-Merton** with a continuous dividend yield, for equity and ETF options
  treated as European: :func:`bsm_price`, :func:`bsm_greeks`.
* **Black-76** on a forward or futures price (VIX options use the VIX level as the
  forward): :func:`black76_price`, :func:`black76_greeks`.

Units of the inputs:

* ``spot``, ``forward``, ``strike``: price of one unit of underlying (e.g. dollars per share);
* ``t``: years to expiry (use :func:`years_from_minutes`: minutes to the expiry session's
  close / 525,600);
* ``rate``, ``div_yield``: continuously compounded annual decimals (0.05, not 5);
* ``sigma``: annualized volatility as a fraction (0.2 = 20%);
* ``is_call``: bool (True for a call, False for a put).

Units of the outputs, per option on one unit of underlying (not x100), identical to
vollib's analytical Greeks (``vollib.black_scholes_merton.greeks.analytical`` and
``vollib.black.greeks.analytical``), against which ``risk/tests/test_pricing.py`` checks
them to 1e-8:

* ``price`` per unit of underlying;
* ``delta`` per $1 of the underlying (of the forward for Black-76);
* ``gamma`` per $1;
* ``theta`` per calendar day (annual theta / 365);
* ``vega`` per volatility point (0.01);
* ``rho`` per rate point (0.01). For Black-76 the forward is held fixed, so rho is
  ``-t * price / 100``.

Degenerate inputs, chosen so that no NaN appears for valid data:

* ``t <= 0`` (at or after the expiry session's close): the price is the intrinsic value
  ``max(w * (spot - strike), 0)`` (``w`` = +1 call, -1 put) and every Greek is 0, delta too.
* ``sigma <= 0`` with ``t > 0``: the deterministic (sigma -> 0+) value, i.e. the intrinsic
  value of the forward, discounted: ``max(w * (spot*e^{-qt} - strike*e^{-rt}), 0)``.
  The Greeks are its exact derivatives (the sigma -> 0+ limits): delta is ``w*e^{-qt}``
  in the money and 0 out of it (half of that exactly at the forward), theta and rho carry
  the carry of that discounted intrinsic, gamma and vega are 0. Unlike the expiry case,
  an in-the-money option keeps its delta: a missing volatility must not hide exposure.
* NaN inputs give NaN outputs. Spot, forward and strike must be positive.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from risk.engine.parallel import for_ranges

__all__ = [
    "IV_ABOVE_MAX",
    "IV_BELOW_INTRINSIC",
    "IV_EXPIRED",
    "IV_NOT_IDENTIFIED",
    "IV_OK",
    "IV_STATUS_REASONS",
    "MINUTES_PER_YEAR",
    "Greeks",
    "IVResult",
    "black76_greeks",
    "black76_price",
    "bsm_greeks",
    "bsm_price",
    "bsm_scenario_prices",
    "implied_volatility",
    "years_from_minutes",
]

FloatArray = NDArray[np.float64]

#: Calendar minutes in a (365-day) year: t = minutes to the expiry session's close / this.
MINUTES_PER_YEAR = 525_600.0

# Elements per block: 6 outputs and ~10 temporaries of this size stay in L2 cache, which
# doubles the throughput of the arithmetic against whole-array (memory-bound) passes.
_BLOCK = 16_384
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_DAYS_PER_YEAR = 365.0
_POINT = 0.01


class Greeks(NamedTuple):
    """Price and first-order Greeks, float64 arrays per option on one unit of underlying.

    ``theta`` is per calendar day (annual / 365), ``vega`` per volatility point (0.01),
    ``rho`` per rate point (0.01): the units of vollib's analytical Greeks.
    """

    price: FloatArray
    delta: FloatArray
    gamma: FloatArray
    theta: FloatArray
    vega: FloatArray
    rho: FloatArray


class IVResult(NamedTuple):
    """Implied volatility (annualized fraction, NaN where not solved) and a status code."""

    iv: FloatArray
    status: NDArray[np.int8]


IV_OK, IV_BELOW_INTRINSIC, IV_ABOVE_MAX, IV_NOT_IDENTIFIED, IV_EXPIRED = 0, 1, 2, 3, 4

#: Human-readable reason for each implied-volatility status code.
IV_STATUS_REASONS: dict[int, str] = {
    IV_OK: "solved",
    IV_BELOW_INTRINSIC: "price below the discounted intrinsic value (no volatility fits)",
    IV_ABOVE_MAX: (
        "price at or above the no-arbitrage upper bound (spot*e^-qt for a call, "
        "strike*e^-rt for a put), or implying a volatility above 5.0 (500%)"
    ),
    IV_NOT_IDENTIFIED: (
        "volatility not identified: vega below 1e-4 per point at the solution, implied "
        "volatility below 1e-6, invalid or missing input, or no convergence"
    ),
    IV_EXPIRED: "option expired (t <= 0): only intrinsic value remains",
}

IV_SIGMA_MIN = 1e-6
IV_SIGMA_MAX = 5.0
#: Vega per volatility point below which the implied volatility is not identified.
IV_MIN_VEGA = 1e-4
_IV_MAX_ITER = 100
_IV_TOL = 1e-13  # on ln(sigma): a relative precision of 1e-13 in sigma


def years_from_minutes(minutes: ArrayLike) -> FloatArray:
    """Years to expiry from minutes to the expiry session's close (16:00 ET, 13:00 on
    early-close days): ``minutes / 525,600``, clipped at 0 (expired options give 0)."""
    m = np.asarray(minutes, dtype=np.float64)
    return np.asarray(np.maximum(m, 0.0) / MINUTES_PER_YEAR)


# --------------------------------------------------------------------------------------
# Input handling


def _as_float(x: ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def _as_bool(x: ArrayLike) -> NDArray[np.bool_]:
    a = np.asarray(x)
    if a.dtype != np.bool_:
        if a.dtype.kind not in "iu":
            raise TypeError(f"is_call must be a bool array, got dtype {a.dtype}")
        a = a.astype(bool)
    return a


# Inputs of a kernel: spot (or forward), strike, t, rate, carry (q, or r for Black-76),
# sigma, is_call; each a 1-d array of one block's length (scalars as stride-0 views).
Inputs = tuple[np.ndarray, ...]


def _flatten(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    rate: ArrayLike,
    carry: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
) -> tuple[tuple[int, ...], Inputs]:
    """Broadcast shape, and each argument as a 0-d array (if it has one element) or as
    a contiguous 1-d array of the full broadcast size. Scalars are not expanded: they
    broadcast for free inside each block."""
    arrays = [_as_float(x) for x in (spot, strike, t, rate, carry, sigma)] + [_as_bool(is_call)]
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    flat: list[np.ndarray] = []
    for a in arrays:
        if a.size == 1:
            flat.append(a.reshape(()))
        else:
            flat.append(np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1))
    return shape, tuple(flat)


def _block(args: Inputs, start: int, m: int) -> Inputs:
    """Elements start:start+m of each input; a scalar becomes a read-only stride-0 view of
    length m, so that every temporary in a kernel has the block's shape and can be reused
    in place."""
    return tuple(np.broadcast_to(a, (m,)) if a.ndim == 0 else a[start : start + m] for a in args)


# --------------------------------------------------------------------------------------
# Kernels. BSM and Black-76 share them: Black-76 is BSM on the forward with q = r, except
# rho, where Black-76 holds the forward (not the spot) fixed.


def _price_block(args: Inputs, out: FloatArray) -> None:
    s, k, t, r, q, sig, call = args
    sqrt_t = np.sqrt(t)
    sst = sig * sqrt_t
    sq = s * np.exp(-(q * t))
    kr = k * np.exp(-(r * t))
    d1 = np.log(sq / kr)
    d1 /= sst
    d1 += 0.5 * sst
    d2 = d1 - sst
    w = np.where(call, 1.0, -1.0)
    d1 *= w
    d2 *= w
    a = ndtr(d1)
    a *= sq
    b = ndtr(d2)
    b *= kr
    a -= b
    np.multiply(w, a, out=out)

    bad = (t <= 0.0) | (sig <= 0.0)
    if bad.any():
        idx = np.flatnonzero(bad)
        out[idx] = _degenerate(tuple(x[idx] for x in args), black76=False)[0]


def _greeks_block(args: Inputs, out: list[FloatArray], black76: bool) -> None:
    """Fill ``out`` = [price, delta, gamma, theta, vega, rho] for one block, computing d1,
    d2, the density, N(.) and the exponentials once and reusing temporaries in place."""
    s, k, t, r, q, sig, call = args
    price, delta, gamma, theta, vega, rho = out
    sqrt_t = np.sqrt(t)
    sst = sig * sqrt_t
    dq = np.exp(-(q * t))
    sq = s * dq
    kr = k * np.exp(-(r * t))
    d1 = np.log(sq / kr)
    d1 /= sst
    d1 += 0.5 * sst
    w = np.where(call, 1.0, -1.0)
    d2 = d1 - sst
    d2 *= w
    # Density first, while d1 is unsigned; then N(w*d1) and N(w*d2) for the signed terms.
    pdf = d1 * d1
    pdf *= -0.5
    np.exp(pdf, out=pdf)
    pdf *= sq * _INV_SQRT_2PI  # S e^{-qt} phi(d1)
    d1 *= w
    n1 = ndtr(d1)
    a = sq * n1  # S e^{-qt} N(w d1)
    b = ndtr(d2)
    b *= kr  # K e^{-rt} N(w d2)

    np.subtract(a, b, out=price)
    price *= w
    np.multiply(dq, n1, out=delta)
    delta *= w
    np.multiply(s, sst, out=gamma)
    gamma *= s
    np.divide(pdf, gamma, out=gamma)
    np.multiply(pdf, sqrt_t, out=vega)
    vega *= _POINT
    # theta = -S e^{-qt} phi sigma / (2 sqrt t) + w (q A - r B), per day
    a *= q
    a -= r * b
    a *= w
    np.multiply(pdf, sig, out=theta)
    theta /= sqrt_t
    theta *= -0.5
    theta += a
    theta /= _DAYS_PER_YEAR
    if black76:
        np.multiply(price, t, out=rho)
        rho *= -_POINT
    else:
        np.multiply(b, t, out=rho)
        rho *= w
        rho *= _POINT

    bad = (t <= 0.0) | (sig <= 0.0)
    if bad.any():
        idx = np.flatnonzero(bad)
        fixed = _degenerate(tuple(x[idx] for x in args), black76=black76)
        for dst, src in zip(out, fixed, strict=True):
            dst[idx] = src


def _degenerate(args: Inputs, black76: bool) -> tuple[FloatArray, ...]:
    """Price and Greeks where t <= 0 (intrinsic, zero Greeks) or sigma <= 0 (the
    deterministic, sigma -> 0+ value and its derivatives); see the module docstring."""
    s, k, t, r, q, _sig, call = args
    w = np.where(call, 1.0, -1.0)
    expired = t <= 0.0
    tt = np.where(expired, 0.0, t)
    dq = np.exp(-q * tt)
    sq = s * dq
    kr = k * np.exp(-r * tt)
    # Limit of N(w d1) and N(w d2) as sigma -> 0+: 1 in the money, 0 out, 1/2 at the forward.
    ind = 0.5 * (1.0 + np.sign(w * (sq - kr)))
    a = sq * ind
    b = kr * ind
    price = w * (a - b)
    delta = w * dq * ind
    theta = w * (q * a - r * b) / _DAYS_PER_YEAR
    rho = (-tt * price if black76 else w * tt * b) * _POINT
    # At expiry: undiscounted intrinsic and zero Greeks.
    price = np.where(expired, np.maximum(w * (s - k), 0.0), price)
    zero = np.zeros(price.shape)
    return (
        price,
        np.where(expired, 0.0, delta),
        zero,
        np.where(expired, 0.0, theta),
        zero,
        np.where(expired, 0.0, rho),
    )


def _run_price(shape: tuple[int, ...], args: Inputs) -> FloatArray:
    n = math.prod(shape)
    out = np.empty(n, dtype=np.float64)

    def price_range(first: int, last: int) -> None:
        with np.errstate(all="ignore"):  # per thread: numpy's error state is a context
            for start in range(first, last, _BLOCK):
                m = min(_BLOCK, last - start)
                _price_block(_block(args, start, m), out[start : start + m])

    for_ranges(n, price_range, align=_BLOCK)  # blocks are independent: one range per core
    return out.reshape(shape)


def _run_greeks(shape: tuple[int, ...], args: Inputs, black76: bool) -> Greeks:
    n = math.prod(shape)
    outs = [np.empty(n, dtype=np.float64) for _ in range(6)]

    def greeks_range(first: int, last: int) -> None:
        with np.errstate(all="ignore"):
            for start in range(first, last, _BLOCK):
                m = min(_BLOCK, last - start)
                block = [o[start : start + m] for o in outs]
                _greeks_block(_block(args, start, m), block, black76)

    for_ranges(n, greeks_range, align=_BLOCK)
    return Greeks(*(o.reshape(shape) for o in outs))


# --------------------------------------------------------------------------------------
# Public pricing API


def bsm_price(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    rate: ArrayLike,
    div_yield: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
) -> FloatArray:
    """Black-Scholes-Merton price of a European option, per unit of underlying.

    ``S e^{-qt} N(d1) - K e^{-rt} N(d2)`` for a call, ``K e^{-rt} N(-d2) - S e^{-qt} N(-d1)``
    for a put; t in years, rate and div_yield continuously compounded, sigma annualized.
    Expired (t <= 0) options are worth their intrinsic value; sigma <= 0 gives the
    discounted intrinsic value of the forward. Checked against
    ``vollib.black_scholes_merton.black_scholes_merton`` and QuantLib's
    AnalyticEuropeanEngine.
    """
    return _run_price(*_flatten(spot, strike, t, rate, div_yield, sigma, is_call))


def bsm_greeks(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    rate: ArrayLike,
    div_yield: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
) -> Greeks:
    """Black-Scholes-Merton price and Greeks, per option on one unit of underlying.

    delta and gamma per $1 of spot, theta per calendar day, vega per volatility point,
    rho per rate point (dividend yield held fixed). At t <= 0: intrinsic price and zero
    Greeks. Checked against ``vollib.black_scholes_merton.greeks.analytical`` (to 1e-8)
    and QuantLib's AnalyticEuropeanEngine.
    """
    return _run_greeks(*_flatten(spot, strike, t, rate, div_yield, sigma, is_call), black76=False)


def _scenario_rows(
    s: FloatArray,
    sig: FloatArray,
    w: FloatArray,
    sqrt_t: FloatArray,
    dq: FloatArray,
    kr: FloatArray,
    out: FloatArray,
    first: int,
    last: int,
    rows: int,
) -> None:
    """Rows [first, last) of :func:`bsm_scenario_prices`, ``rows`` at a time, in place."""
    for a in range(first, last, rows):
        b = min(last, a + rows)
        spot_ab, sig_ab, price = s[a:b], sig if sig.ndim == 1 else sig[a:b], out[a:b]
        # The operations of _price_block in its order, so that the figures are bit for
        # bit bsm_price's (a scenario without moves revalues to exactly 0).
        sq = spot_ab * dq  # S e^{-qt}
        sst = np.multiply(sig_ab, sqrt_t, out=np.empty_like(sq))  # sigma sqrt t
        d1 = sq / kr
        np.log(d1, out=d1)
        d1 /= sst
        d1 += 0.5 * sst
        np.subtract(d1, sst, out=sst)  # d2
        d1 *= w
        ndtr(d1, out=d1)
        d1 *= sq  # S e^{-qt} N(w d1)
        sst *= w
        ndtr(sst, out=sst)
        sst *= kr  # K e^{-rt} N(w d2)
        np.subtract(d1, sst, out=price)
        price *= w


def bsm_scenario_prices(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    rate: ArrayLike,
    div_yield: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
) -> FloatArray:
    """:func:`bsm_price` of m options in S scenarios, (S, m), per unit of underlying.

    ``spot`` (S, m) and ``sigma`` (S, m) or (m,) vary by scenario; ``strike``, ``t`` (years),
    ``rate``, ``div_yield`` and ``is_call`` are (m,), one per option. The terms that depend
    on the option alone (sqrt t and the discount factors) are computed once, not once per
    scenario, and rows are priced a cache-sized block at a time, on every core: about half
    the time of :func:`bsm_price` on the same arrays, with the same figures bit for bit
    (the same operations in the same order).
    Options with t <= 0 are priced by :func:`bsm_price` (intrinsic value).
    """
    s = _as_float(spot)
    k, tt, r, q = (_as_float(x).reshape(-1) for x in (strike, t, rate, div_yield))
    w = np.where(_as_bool(is_call).reshape(-1), 1.0, -1.0)
    sig = _as_float(sigma)
    if s.ndim != 2 or not (k.size == tt.size == r.size == q.size == w.size == s.shape[1]):
        raise ValueError("spot must be (S, m) and strike, t, rate, div_yield, is_call (m,)")
    if sig.shape not in (s.shape, (s.shape[1],)):
        raise ValueError("sigma must be (S, m) or (m,)")
    out = np.empty(s.shape, dtype=np.float64)
    with np.errstate(all="ignore"):  # expired columns are replaced below
        sqrt_t = np.sqrt(tt)
        dq = np.exp(-(q * tt))
        kr = k * np.exp(-(r * tt))
    rows = max(1, _BLOCK // max(s.shape[1], 1))

    def price_rows(first: int, last: int) -> None:
        with np.errstate(all="ignore"):  # per thread: numpy's error state is a context
            _scenario_rows(s, sig, w, sqrt_t, dq, kr, out, first, last, rows)

    for_ranges(s.shape[0], price_rows, align=rows)  # row blocks are independent
    bad_sigma = (sig <= 0.0).any(axis=0) if sig.ndim == 2 else sig <= 0.0
    degenerate = np.flatnonzero((tt <= 0.0) | bad_sigma)
    if degenerate.size:
        out[:, degenerate] = bsm_price(
            s[:, degenerate],
            k[degenerate],
            tt[degenerate],
            r[degenerate],
            q[degenerate],
            sig[:, degenerate] if sig.ndim == 2 else sig[degenerate],
            w[degenerate] > 0,
        )
    return out


def black76_price(
    forward: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    rate: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
) -> FloatArray:
    """Black-76 price of a European option on a forward/futures price, discounted at
    ``rate``: ``e^{-rt} (F N(d1) - K N(d2))`` for a call. Checked against
    ``vollib.black.black``."""
    return _run_price(*_flatten(forward, strike, t, rate, rate, sigma, is_call))


def black76_greeks(
    forward: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    rate: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
) -> Greeks:
    """Black-76 price and Greeks. delta and gamma are with respect to the forward (per $1
    of forward), theta per calendar day, vega per volatility point, rho per rate point
    with the forward held fixed (``-t * price / 100``). Checked against
    ``vollib.black.greeks.analytical``."""
    return _run_greeks(*_flatten(forward, strike, t, rate, rate, sigma, is_call), black76=True)


# --------------------------------------------------------------------------------------
# Implied volatility


def _otm_price_vega(
    sq: FloatArray, kr: FloatArray, sqrt_t: FloatArray, sig: FloatArray, w: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Price and vega (per unit of sigma) of the option of sign ``w``, from the
    discounted spot ``sq`` = S e^{-qt} and discounted strike ``kr`` = K e^{-rt}."""
    sst = sig * sqrt_t
    d1 = np.log(sq / kr) / sst + 0.5 * sst
    d2 = d1 - sst
    price = w * (sq * ndtr(w * d1) - kr * ndtr(w * d2))
    vega = sq * np.exp(-0.5 * d1 * d1) * (_INV_SQRT_2PI * sqrt_t)
    return price, vega


def implied_volatility(
    price: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    rate: ArrayLike,
    div_yield: ArrayLike,
    is_call: ArrayLike,
    model: str = "bsm",
) -> IVResult:
    """Implied volatility (annualized fraction) of European option prices.

    ``model="bsm"``: Black-Scholes-Merton with dividend yield; ``model="black76"``: Black-76,
    where ``spot`` is the forward and ``div_yield`` is ignored. Units as in
    :func:`bsm_price`; ``price`` per unit of underlying.

    Method: put-call parity turns every price into the out-of-the-money option's price
    (price minus the discounted intrinsic ``max(w(S e^{-qt} - K e^{-rt}), 0)``), whose log
    is increasing and concave in ln(sigma). A vectorized Newton iteration on ln(price) in
    ln(sigma), started at the Manaster-Koehler point ``sqrt(2|ln(F/K)|/t)`` and safeguarded
    by bisection of a bracket kept on [1e-6, 5.0], then converges monotonically once left
    of the root. It stops at a relative change of 1e-13 in sigma (at most 100 iterations).

    Status codes (``IV_STATUS_REASONS`` holds the reasons); ``iv`` is NaN unless IV_OK:

    * IV_EXPIRED: t <= 0;
    * IV_BELOW_INTRINSIC: price below the discounted intrinsic value;
    * IV_ABOVE_MAX: price at or above the upper bound (S e^{-qt} for calls, K e^{-rt} for
      puts), or above the price at sigma = 5.0;
    * IV_NOT_IDENTIFIED: vega below 1e-4 per point at the solution, a solution below
      1e-6, NaN or non-positive inputs, or no convergence.

    Accuracy: |iv - true| < 1e-6 wherever vega >= 1e-4 per point (tested on random
    options, and against ``vollib.black_scholes_merton.implied_volatility``).
    """
    if model not in ("bsm", "black76"):
        raise ValueError(f"model must be 'bsm' or 'black76', got {model!r}")
    carry = rate if model == "black76" else div_yield  # Black-76: S e^{-qt} becomes F e^{-rt}
    arrays: list[np.ndarray] = [_as_float(x) for x in (price, spot, strike, t, rate, carry)]
    arrays.append(_as_bool(is_call))
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    p, s, k, tt, r, q, call = (np.broadcast_to(a, shape).reshape(-1) for a in arrays)
    n = p.size
    iv = np.full(n, np.nan)
    status = np.full(n, IV_NOT_IDENTIFIED, dtype=np.int8)

    with np.errstate(all="ignore"):
        expired = tt <= 0.0
        status[expired] = IV_EXPIRED
        valid = (
            ~expired
            & np.isfinite(p)
            & np.isfinite(tt)
            & np.isfinite(r)
            & np.isfinite(q)
            & (s > 0.0)
            & (k > 0.0)
            & np.isfinite(s)
            & np.isfinite(k)
        )
        w = np.where(call, 1.0, -1.0)
        sq = s * np.exp(-q * tt)
        kr = k * np.exp(-r * tt)
        intrinsic = np.maximum(w * (sq - kr), 0.0)
        upper = np.where(call, sq, kr)
        # Round-off slack so that a price equal to intrinsic is not called "below".
        slack = 8.0 * np.finfo(np.float64).eps * (sq + kr)
        below = valid & (p < intrinsic - slack)
        above = valid & ~below & (p >= upper)
        status[below] = IV_BELOW_INTRINSIC
        status[above] = IV_ABOVE_MAX

        idx = np.flatnonzero(valid & ~below & ~above)
        sq_, kr_, t_ = sq[idx], kr[idx], tt[idx]
        w_otm = np.where(sq_ > kr_, -1.0, 1.0)
        target = p[idx] - intrinsic[idx]  # the out-of-the-money option's price
        sqrt_t = np.sqrt(t_)
        lo = np.full(idx.size, IV_SIGMA_MIN)
        hi = np.full(idx.size, IV_SIGMA_MAX)
        p_lo, _ = _otm_price_vega(sq_, kr_, sqrt_t, lo, w_otm)
        p_hi, _ = _otm_price_vega(sq_, kr_, sqrt_t, hi, w_otm)
        too_high = p_hi < target
        too_low = ~too_high & (p_lo >= target)  # includes target <= 0
        status[idx[too_high]] = IV_ABOVE_MAX
        solve = ~too_high & ~too_low

        sel = idx[solve]
        sq_, kr_, sqrt_t, w_otm, target = (x[solve] for x in (sq_, kr_, sqrt_t, w_otm, target))
        sigma, ok = _newton_ln(sq_, kr_, sqrt_t, w_otm, np.log(target), t_[solve])
        _, vega = _otm_price_vega(sq_, kr_, sqrt_t, sigma, w_otm)
        ok &= vega * _POINT >= IV_MIN_VEGA
        iv[sel[ok]] = sigma[ok]
        status[sel[ok]] = IV_OK

    return IVResult(iv.reshape(shape), status.reshape(shape))


def _newton_ln(
    sq: FloatArray,
    kr: FloatArray,
    sqrt_t: FloatArray,
    w: FloatArray,
    ln_target: FloatArray,
    t: FloatArray,
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Solve ln P(sigma) = ln_target for the out-of-the-money price P, bracketed in
    [1e-6, 5.0] (the caller has checked P(1e-6) < target < P(5)). Works in u = ln(sigma).
    Returns sigma and a converged flag; iterates only on the unconverged subset."""
    m = sq.size
    lo = np.full(m, math.log(IV_SIGMA_MIN))
    hi = np.full(m, math.log(IV_SIGMA_MAX))
    # Manaster-Koehler start: the inflection point of the price in sigma.
    mk = np.sqrt(2.0 * np.abs(np.log(sq / kr)) / t)
    u = np.log(np.clip(mk, IV_SIGMA_MIN, IV_SIGMA_MAX))
    sigma = np.full(m, np.nan)
    converged = np.zeros(m, dtype=bool)
    act = np.arange(m)
    for _ in range(_IV_MAX_ITER):
        if act.size == 0:
            break
        sig = np.exp(u)
        p, vega = _otm_price_vega(sq[act], kr[act], sqrt_t[act], sig, w[act])
        g = np.log(p) - ln_target[act]  # p may underflow to 0: g = -inf, bisect below
        right = g > 0.0
        hi[act] = np.where(right, u, hi[act])
        lo[act] = np.where(right, lo[act], u)
        step = -g * p / (sig * vega)  # Newton step on ln P in ln sigma
        lo_a, hi_a = lo[act], hi[act]
        u_new = u + step
        outside = ~((u_new > lo_a) & (u_new < hi_a))  # also catches NaN and inf
        u_new = np.where(outside, 0.5 * (lo_a + hi_a), u_new)
        # A converged step may land on the bracket end just set to u: accept it, don't bisect.
        small = np.abs(step) <= _IV_TOL
        u_new = np.where(small, u + step, u_new)
        u_new = np.where(g == 0.0, u, u_new)
        done = small | (g == 0.0) | (hi_a - lo_a <= _IV_TOL)
        fin = act[done]
        sigma[fin] = np.exp(u_new[done])
        converged[fin] = True
        act = act[~done]
        u = u_new[~done]
    return sigma, converged
