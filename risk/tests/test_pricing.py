"""Tests of risk.engine.pricing against references: vollib's analytical BSM and Black-76
functions and its implied volatility (LetsBeRational), QuantLib's AnalyticEuropeanEngine,
put-call parity and the expiry conventions of docs RISK-MODEL.md ("Options").

Tolerance for "within 1e-8": |ours - reference| <= 1e-8 * max(1, |reference|), i.e.
absolute below 1 and relative above (prices and rho of long-dated options on a $1000
underlying reach the hundreds).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vollib.black import black as vl_black
from vollib.black.greeks import analytical as vl_black_greeks
from vollib.black.implied_volatility import implied_volatility as vl_black_iv
from vollib.black_scholes_merton import black_scholes_merton as vl_bsm
from vollib.black_scholes_merton.greeks import analytical as vl_bsm_greeks
from vollib.black_scholes_merton.implied_volatility import (
    implied_volatility as vl_bsm_iv,
)

from risk.engine.pricing import (
    IV_ABOVE_MAX,
    IV_BELOW_INTRINSIC,
    IV_EXPIRED,
    IV_NOT_IDENTIFIED,
    IV_OK,
    IV_STATUS_REASONS,
    MINUTES_PER_YEAR,
    Greeks,
    black76_greeks,
    black76_price,
    bsm_greeks,
    bsm_price,
    implied_volatility,
    years_from_minutes,
)

TOL = 1e-8
ONE_MINUTE = 1.0 / MINUTES_PER_YEAR
GREEK_NAMES = Greeks._fields


def random_options(n: int, seed: int) -> dict[str, np.ndarray]:
    """Spot 10-1000, moneyness K/S 0.5-1.5, t 1 minute to 3 years, sigma 0.05-1.5,
    r 0-0.08, q 0-0.05, calls and puts."""
    rng = np.random.default_rng(seed)
    spot = rng.uniform(10.0, 1000.0, n)
    return {
        "spot": spot,
        "strike": spot * rng.uniform(0.5, 1.5, n),
        "t": rng.uniform(ONE_MINUTE, 3.0, n),
        "rate": rng.uniform(0.0, 0.08, n),
        "div_yield": rng.uniform(0.0, 0.05, n),
        "sigma": rng.uniform(0.05, 1.5, n),
        "is_call": rng.random(n) < 0.5,
    }


def assert_close(ours: np.ndarray, ref: np.ndarray, tol: float = TOL, what: str = "") -> None:
    ours, ref = np.asarray(ours, dtype=float), np.asarray(ref, dtype=float)
    err = np.abs(ours - ref) / np.maximum(1.0, np.abs(ref))
    worst = int(np.argmax(err))
    assert err[worst] <= tol, f"{what}: index {worst}, ours {ours[worst]!r}, ref {ref[worst]!r}"


def vollib_bsm(o: dict[str, np.ndarray], i: int) -> list[float]:
    flag = "c" if o["is_call"][i] else "p"
    args = (flag, o["spot"][i], o["strike"][i], o["t"][i], o["rate"][i], o["sigma"][i])
    q = o["div_yield"][i]
    return [
        vl_bsm(*args, q),
        vl_bsm_greeks.delta(*args, q),
        vl_bsm_greeks.gamma(*args, q),
        vl_bsm_greeks.theta(*args, q),
        vl_bsm_greeks.vega(*args, q),
        vl_bsm_greeks.rho(*args, q),
    ]


# --------------------------------------------------------------------------------------
# BSM and Black-76 against vollib


def test_bsm_price_and_greeks_match_vollib_on_10000_random_options() -> None:
    o = random_options(10_000, seed=20240920)
    ours = bsm_greeks(**o)
    # vollib: flag 'c'/'p' first, then S, K, t, r, sigma, q (q last, after sigma).
    ref = np.array([vollib_bsm(o, i) for i in range(10_000)])
    for j, name in enumerate(GREEK_NAMES):
        assert_close(getattr(ours, name), ref[:, j], what=name)
    assert_close(bsm_price(**o), ref[:, 0], what="bsm_price")


def test_black76_price_and_greeks_match_vollib_black() -> None:
    o = random_options(3_000, seed=76)
    forward = o["spot"]
    ours = black76_greeks(forward, o["strike"], o["t"], o["rate"], o["sigma"], o["is_call"])
    ref = []
    for i in range(3_000):
        # vollib.black: flag, F, K, t, r, sigma
        args = ("c" if o["is_call"][i] else "p", forward[i], o["strike"][i], o["t"][i])
        args += (o["rate"][i], o["sigma"][i])
        ref.append(
            [
                vl_black(*args),
                vl_black_greeks.delta(*args),
                vl_black_greeks.gamma(*args),
                vl_black_greeks.theta(*args),
                vl_black_greeks.vega(*args),
                vl_black_greeks.rho(*args),
            ]
        )
    ref_arr = np.array(ref)
    for j, name in enumerate(GREEK_NAMES):
        assert_close(getattr(ours, name), ref_arr[:, j], what=name)
    price = black76_price(forward, o["strike"], o["t"], o["rate"], o["sigma"], o["is_call"])
    assert_close(price, ref_arr[:, 0], what="black76_price")


def test_black76_is_bsm_on_the_forward_with_carry_equal_to_rate_except_rho() -> None:
    o = random_options(1_000, seed=7)
    b76 = black76_greeks(o["spot"], o["strike"], o["t"], o["rate"], o["sigma"], o["is_call"])
    bsm = bsm_greeks(o["spot"], o["strike"], o["t"], o["rate"], o["rate"], o["sigma"], o["is_call"])
    for name in ("price", "delta", "gamma", "theta", "vega"):
        np.testing.assert_allclose(getattr(b76, name), getattr(bsm, name), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(b76.rho, -o["t"] * b76.price * 0.01, rtol=1e-13, atol=1e-15)


def test_greeks_are_derivatives_of_the_price_in_the_stated_units() -> None:
    s, k, t, r, q, sig = 105.0, 100.0, 0.4, 0.03, 0.015, 0.25
    base = {"spot": s, "strike": k, "t": t, "rate": r, "div_yield": q, "sigma": sig}
    for call in (True, False):
        g = bsm_greeks(s, k, t, r, q, sig, call)

        def p(call: bool = call, **kw: float) -> float:
            return float(bsm_price(**(base | kw), is_call=call))

        h = 1e-4
        assert g.delta == pytest.approx((p(spot=s + h) - p(spot=s - h)) / (2 * h), abs=1e-7)
        gamma_fd = (p(spot=s + 1e-2) - 2 * p() + p(spot=s - 1e-2)) / 1e-4
        assert g.gamma == pytest.approx(gamma_fd, abs=1e-6)
        day = 1.0 / 365.0  # theta per calendar day: minus the change as t shrinks by a day
        theta_fd = -(p(t=t + h * day) - p(t=t - h * day)) / (2 * h)
        assert g.theta == pytest.approx(theta_fd, abs=1e-8)
        vega_fd = (p(sigma=sig + h * 0.01) - p(sigma=sig - h * 0.01)) / (2 * h)
        assert g.vega == pytest.approx(vega_fd, abs=1e-8)  # per volatility point
        rho_fd = (p(rate=r + h * 0.01) - p(rate=r - h * 0.01)) / (2 * h)
        assert g.rho == pytest.approx(rho_fd, abs=1e-8)  # per rate point


# --------------------------------------------------------------------------------------
# Shapes, dtypes and blocks


def test_arguments_broadcast_and_outputs_are_float64_of_the_broadcast_shape() -> None:
    strikes = np.array([[90.0], [100.0], [110.0]])  # (3, 1)
    calls = np.array([True, False])  # (2,)
    g = bsm_greeks(100.0, strikes, 0.5, 0.02, 0.01, 0.3, calls)
    for arr in g:
        assert arr.shape == (3, 2) and arr.dtype == np.float64
    for i in range(3):
        for j in range(2):
            one = bsm_greeks(100.0, strikes[i, 0], 0.5, 0.02, 0.01, 0.3, calls[j])
            for a, b in zip(g, one, strict=True):
                assert a[i, j] == b
    scalar = bsm_greeks(100.0, 100.0, 0.5, 0.02, 0.01, 0.3, True)
    assert all(a.shape == () for a in scalar)
    assert bsm_price(100.0, 100.0, 0.5, 0.02, 0.01, 0.3, True).shape == ()
    empty = bsm_greeks(np.empty(0), 100.0, 0.5, 0.02, 0.01, 0.3, True)
    assert all(a.shape == (0,) for a in empty)


def test_results_do_not_depend_on_block_boundaries_or_scalar_arguments() -> None:
    n = 40_000  # more than two blocks, with a partial last one
    o = random_options(n, seed=3)
    o["t"][::997] = 0.0  # degenerate cases scattered across blocks
    o["sigma"][5::1009] = 0.0
    full = bsm_greeks(**o)
    pieces = [bsm_greeks(**{k: v[i : i + 1000] for k, v in o.items()}) for i in range(0, n, 1000)]
    for j, name in enumerate(GREEK_NAMES):
        np.testing.assert_array_equal(getattr(full, name), np.concatenate([p[j] for p in pieces]))
    np.testing.assert_array_equal(bsm_price(**o), full.price)
    mixed = bsm_greeks(o["spot"], o["strike"], 0.25, 0.03, 0.01, 0.2, o["is_call"])
    expanded = bsm_greeks(
        o["spot"],
        o["strike"],
        np.full(n, 0.25),
        np.full(n, 0.03),
        np.full(n, 0.01),
        np.full(n, 0.2),
        o["is_call"],
    )
    for a, b in zip(mixed, expanded, strict=True):
        np.testing.assert_array_equal(a, b)


def test_is_call_must_be_boolean() -> None:
    with pytest.raises(TypeError):
        bsm_price(100.0, 100.0, 0.5, 0.02, 0.0, 0.2, np.array(["c"]))
    # 0/1 integers are accepted as booleans
    assert bsm_price(100.0, 100.0, 0.5, 0.02, 0.0, 0.2, 1) == bsm_price(
        100.0, 100.0, 0.5, 0.02, 0.0, 0.2, True
    )


# --------------------------------------------------------------------------------------
# Expiry day, degenerate inputs, parity


def test_years_from_minutes_counts_calendar_minutes_and_clips_at_zero() -> None:
    np.testing.assert_array_equal(
        years_from_minutes([525_600, 390, 0, -15]), [1.0, 390 / 525_600, 0.0, 0.0]
    )
    assert isinstance(years_from_minutes(60), np.ndarray) and years_from_minutes(60).shape == ()


def test_at_expiry_price_is_intrinsic_and_every_greek_is_zero() -> None:
    spot = np.array([90.0, 100.0, 110.0, 90.0, 100.0, 110.0])
    call = np.array([True, True, True, False, False, False])
    t = years_from_minutes(np.array([0, -5, 0, 0, -5, 0]))
    g = bsm_greeks(spot, 100.0, t, 0.05, 0.02, 0.3, call)
    np.testing.assert_array_equal(g.price, [0.0, 0.0, 10.0, 10.0, 0.0, 0.0])
    for name in ("delta", "gamma", "theta", "vega", "rho"):
        np.testing.assert_array_equal(getattr(g, name), 0.0)
    negative_t = bsm_greeks(spot, 100.0, -0.1, 0.05, 0.02, 0.3, call)  # after the close
    np.testing.assert_array_equal(negative_t.price, g.price)
    b76 = black76_greeks(spot, 100.0, 0.0, 0.05, 0.3, call)
    np.testing.assert_array_equal(b76.price, g.price)
    for name in ("delta", "gamma", "theta", "vega", "rho"):
        np.testing.assert_array_equal(getattr(b76, name), 0.0)


def test_on_expiry_day_one_minute_before_the_close_is_close_to_intrinsic() -> None:
    t = years_from_minutes(1)
    g = bsm_greeks(np.array([95.0, 105.0]), 100.0, t, 0.05, 0.0, 0.2, True)
    np.testing.assert_allclose(g.price, [0.0, 5.0], atol=1e-4)
    np.testing.assert_allclose(g.delta, [0.0, 1.0], atol=1e-12)
    assert np.isfinite(g).all()


def test_put_call_parity_holds_before_and_at_expiry() -> None:
    o = random_options(10_000, seed=11)
    o["t"][:100] = 0.0
    call = bsm_greeks(**(o | {"is_call": True}))
    put = bsm_greeks(**(o | {"is_call": False}))
    s, k, t, r, q = o["spot"], o["strike"], o["t"], o["rate"], o["div_yield"]
    forward_value = s * np.exp(-q * t) - k * np.exp(-r * t)
    scale = s + k
    assert np.all(np.abs(call.price - put.price - forward_value) <= 1e-13 * scale)
    live = t > 0
    assert np.all(np.abs(call.delta - put.delta - np.exp(-q * t))[live] <= 1e-13)
    np.testing.assert_allclose(call.gamma, put.gamma, rtol=1e-13, atol=0)
    np.testing.assert_allclose(call.vega, put.vega, rtol=1e-13, atol=0)
    np.testing.assert_allclose(
        (call.rho - put.rho)[live], (t * k * np.exp(-r * t) * 0.01)[live], rtol=1e-11, atol=1e-13
    )


def test_zero_volatility_gives_discounted_forward_intrinsic_and_its_derivatives() -> None:
    s, k, t, r, q = np.array([120.0, 80.0, 120.0, 80.0]), 100.0, 0.5, 0.05, 0.02
    call = np.array([True, True, False, False])
    g = bsm_greeks(s, k, t, r, q, 0.0, call)
    w = np.where(call, 1.0, -1.0)
    fwd_value = s * math.exp(-q * t) - k * math.exp(-r * t)
    np.testing.assert_allclose(g.price, np.maximum(w * fwd_value, 0.0), rtol=1e-15)
    itm = w * fwd_value > 0
    np.testing.assert_allclose(g.delta, np.where(itm, w * math.exp(-q * t), 0.0), rtol=1e-15)
    np.testing.assert_array_equal(g.gamma, 0.0)
    np.testing.assert_array_equal(g.vega, 0.0)
    # The sigma -> 0+ limit: a tiny volatility gives the same figures.
    tiny = bsm_greeks(s, k, t, r, q, 1e-6, call)
    for name in GREEK_NAMES:
        np.testing.assert_allclose(getattr(g, name), getattr(tiny, name), atol=1e-12)
    negative = bsm_greeks(s, k, t, r, q, -0.2, call)
    for a, b in zip(g, negative, strict=True):
        np.testing.assert_array_equal(a, b)
    assert float(bsm_price(120.0, 100.0, 0.5, 0.05, 0.02, 0.0, True)) == g.price[0]
    b76 = black76_greeks(s, k, t, r, 0.0, call)
    df = math.exp(-r * t)
    np.testing.assert_allclose(b76.price, df * np.maximum(w * (s - k), 0.0), rtol=1e-15)
    np.testing.assert_allclose(b76.rho, -t * b76.price * 0.01, rtol=1e-15)


def test_nan_inputs_give_nan_outputs() -> None:
    g = bsm_greeks(np.array([100.0, np.nan]), 100.0, 0.5, 0.02, 0.0, 0.2, True)
    assert np.isfinite([a[0] for a in g]).all()
    assert np.isnan([a[1] for a in g]).all()


# --------------------------------------------------------------------------------------
# QuantLib


@pytest.mark.parametrize(
    ("spot", "strike", "days", "rate", "div_yield", "sigma", "is_call"),
    [
        (100.0, 100.0, 182, 0.05, 0.02, 0.20, True),
        (100.0, 100.0, 182, 0.05, 0.02, 0.20, False),
        (550.0, 600.0, 30, 0.045, 0.013, 0.15, True),
        (550.0, 480.0, 730, 0.03, 0.0, 0.45, False),
        (25.0, 20.0, 1, 0.0, 0.0, 1.2, True),
        (1000.0, 1400.0, 1095, 0.08, 0.05, 0.6, False),
    ],
)
def test_bsm_matches_quantlib_analytic_european_engine(
    spot: float,
    strike: float,
    days: int,
    rate: float,
    div_yield: float,
    sigma: float,
    is_call: bool,
) -> None:
    import QuantLib as ql

    today = ql.Date(15, ql.January, 2024)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()  # so that t = days / 365 exactly
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(spot)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, div_yield, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, rate, dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), sigma, dc)),
    )
    payoff = ql.PlainVanillaPayoff(ql.Option.Call if is_call else ql.Option.Put, strike)
    option = ql.VanillaOption(payoff, ql.EuropeanExercise(today + days))
    option.setPricingEngine(ql.AnalyticEuropeanEngine(process))

    g = bsm_greeks(spot, strike, days / 365.0, rate, div_yield, sigma, is_call)
    ref = {
        "price": option.NPV(),
        "delta": option.delta(),
        "gamma": option.gamma(),
        "theta": option.thetaPerDay(),  # annual theta / 365
        "vega": option.vega() * 0.01,  # QuantLib: per unit of volatility
        "rho": option.rho() * 0.01,  # QuantLib: per unit of rate
    }
    for name, value in ref.items():
        assert_close(getattr(g, name), np.array([value]), tol=1e-9, what=name)


# --------------------------------------------------------------------------------------
# Implied volatility


def test_iv_round_trip_within_1e6_wherever_vega_is_at_least_1e4_per_point() -> None:
    o = random_options(10_000, seed=99)
    g = bsm_greeks(**o)
    args = {k: v for k, v in o.items() if k != "sigma"}
    res = implied_volatility(g.price, **args)
    assert res.iv.dtype == np.float64 and res.status.dtype == np.int8
    identified = g.vega >= 1e-4
    assert identified.mean() > 0.9
    assert np.all(res.status[identified] == IV_OK)
    assert np.max(np.abs(res.iv - o["sigma"])[identified]) < 1e-6
    ok = res.status == IV_OK
    assert np.all(np.isnan(res.iv[~ok])) and np.all(res.status[~ok] == IV_NOT_IDENTIFIED)


def test_iv_round_trip_over_a_wide_domain() -> None:
    rng = np.random.default_rng(5)
    n = 20_000
    spot = rng.uniform(1.0, 2000.0, n)
    strike = spot * np.exp(rng.uniform(-1.5, 1.5, n))
    t = np.exp(rng.uniform(math.log(ONE_MINUTE), math.log(10.0), n))
    rate = rng.uniform(-0.01, 0.10, n)
    q = rng.uniform(0.0, 0.08, n)
    sigma = np.exp(rng.uniform(math.log(1e-3), math.log(4.9), n))
    call = rng.random(n) < 0.5
    for model in ("bsm", "black76"):
        if model == "bsm":
            g = bsm_greeks(spot, strike, t, rate, q, sigma, call)
        else:
            g = black76_greeks(spot, strike, t, rate, sigma, call)
        res = implied_volatility(g.price, spot, strike, t, rate, q, call, model=model)
        identified = g.vega >= 1e-4
        assert np.all(res.status[identified] == IV_OK), model
        assert np.max(np.abs(res.iv - sigma)[identified]) < 1e-6, model


def test_iv_matches_vollib_implied_volatility_on_a_sample() -> None:
    o = random_options(500, seed=123)
    price = bsm_price(**o)
    ours = implied_volatility(price, **{k: v for k, v in o.items() if k != "sigma"})
    vega = bsm_greeks(**o).vega
    checked = 0
    for i in np.flatnonzero(vega >= 1e-4):
        flag = "c" if o["is_call"][i] else "p"
        # vollib: price, S, K, t, r, q, flag
        ref = vl_bsm_iv(
            price[i],
            o["spot"][i],
            o["strike"][i],
            o["t"][i],
            o["rate"][i],
            o["div_yield"][i],
            flag,
        )
        assert abs(ours.iv[i] - ref) < 1e-6
        checked += 1
    assert checked > 400

    f, k, t, r, sig = 18.5, 20.0, 30 / 365, 0.045, 0.9
    for call in (True, False):
        p = float(black76_price(f, k, t, r, sig, call))
        ref = vl_black_iv(p, f, k, r, t, "c" if call else "p")  # vollib: price, F, K, r, t, flag
        ours76 = implied_volatility(p, f, k, t, r, 0.0, call, model="black76")
        assert ours76.status == IV_OK
        assert abs(float(ours76.iv) - ref) < 1e-9
        assert abs(float(ours76.iv) - sig) < 1e-9


def test_iv_statuses_for_prices_outside_the_no_arbitrage_range() -> None:
    s, k, t, r, q = 100.0, 90.0, 0.5, 0.05, 0.02
    df_q, df_r = math.exp(-q * t), math.exp(-r * t)
    call_intrinsic = s * df_q - k * df_r
    prices = np.array(
        [
            call_intrinsic - 0.01,  # call below discounted intrinsic
            s * df_q,  # call at the upper bound S e^{-qt}
            s * df_q + 1.0,  # call above it
            1.0,  # put: fine
            k * df_r + 0.01,  # put above K e^{-rt}
            -0.5,  # put below intrinsic (0)
            float(bsm_price(s, k, t, r, q, 6.0, True)),  # call implying sigma 6 > 5
        ]
    )
    call = np.array([True, True, True, False, False, False, True])
    res = implied_volatility(prices, s, k, t, r, q, call)
    expected = [
        IV_BELOW_INTRINSIC,
        IV_ABOVE_MAX,
        IV_ABOVE_MAX,
        IV_OK,
        IV_ABOVE_MAX,
        IV_BELOW_INTRINSIC,
        IV_ABOVE_MAX,
    ]
    np.testing.assert_array_equal(res.status, expected)
    assert np.isnan(res.iv[res.status != IV_OK]).all()
    assert set(IV_STATUS_REASONS) == {
        IV_OK,
        IV_BELOW_INTRINSIC,
        IV_ABOVE_MAX,
        IV_NOT_IDENTIFIED,
        IV_EXPIRED,
    }


def test_iv_is_expired_at_or_after_the_close() -> None:
    res = implied_volatility([5.0, 5.0, 0.0], 100.0, 95.0, [0.0, -1e-3, 0.0], 0.05, 0.0, True)
    np.testing.assert_array_equal(res.status, [IV_EXPIRED] * 3)
    assert np.isnan(res.iv).all()


def test_iv_is_not_identified_where_price_carries_no_volatility_information() -> None:
    s, k, t, r, q = 100.0, 50.0, 7 / 365, 0.05, 0.0
    deep_itm_call = float(bsm_price(s, k, t, r, q, 0.2, True))  # vega ~ 0
    at_intrinsic = s - k * math.exp(-r * t)
    res = implied_volatility(
        [deep_itm_call, at_intrinsic, np.nan, 60.0, 60.0],
        [s, s, s, -1.0, s],  # a non-positive spot is invalid input
        [k, k, k, k, np.nan],
        t,
        r,
        q,
        True,
    )
    np.testing.assert_array_equal(res.status, [IV_NOT_IDENTIFIED] * 5)
    assert np.isnan(res.iv).all()
    assert float(bsm_greeks(s, k, t, r, q, 0.2, True).vega) < 1e-4


def test_iv_broadcasts_and_rejects_unknown_models() -> None:
    price = np.array([[2.0], [4.0]])
    res = implied_volatility(price, 100.0, [95.0, 100.0, 105.0], 0.25, 0.03, 0.0, False)
    assert res.iv.shape == res.status.shape == (2, 3)
    scalar = implied_volatility(4.0, 100.0, 100.0, 0.25, 0.03, 0.0, True)
    assert scalar.iv.shape == () and scalar.status == IV_OK
    with pytest.raises(ValueError, match="model"):
        implied_volatility(4.0, 100.0, 100.0, 0.25, 0.03, 0.0, True, model="sabr")


@settings(max_examples=300, deadline=None)
@given(
    spot=st.floats(1.0, 5000.0),
    log_moneyness=st.floats(-1.0, 1.0),
    minutes=st.floats(1.0, 5 * MINUTES_PER_YEAR),
    rate=st.floats(0.0, 0.1),
    div_yield=st.floats(0.0, 0.08),
    sigma=st.floats(0.01, 4.0),
    is_call=st.booleans(),
)
def test_iv_round_trip_property(
    spot: float,
    log_moneyness: float,
    minutes: float,
    rate: float,
    div_yield: float,
    sigma: float,
    is_call: bool,
) -> None:
    strike = spot * math.exp(log_moneyness)
    t = years_from_minutes(minutes)
    g = bsm_greeks(spot, strike, t, rate, div_yield, sigma, is_call)
    res = implied_volatility(g.price, spot, strike, t, rate, div_yield, is_call)
    if g.vega >= 1e-4:
        assert res.status == IV_OK
        assert abs(float(res.iv) - sigma) < 1e-6
    else:  # outside the identified domain only the status is promised
        assert int(res.status) in IV_STATUS_REASONS
