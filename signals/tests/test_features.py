"""Tests of signals.engine.features: hand-computed scores on small literal inputs.

Every expected figure is derived in the comments from the module docstring's
definitions (score = tanh(x / 2)), independently of the module's code.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from signals.engine.features import (
    DIRECTIONAL,
    FEATURE_NAMES,
    MIN_SIGMA_1M,
    FeatureInputs,
    direction_score,
    feature_scores,
    realized_sigma_1m,
    skew_25_delta,
    vwap,
)

# --- realized_sigma_1m ----------------------------------------------------------------


def test_realized_sigma_alternating_closes() -> None:
    # closes 100, 101, 100, 101: returns +a, −a, +a with a = ln(1.01).
    # mean = a/3; deviations 2a/3, −4a/3, 2a/3; squares sum to 24a²/9;
    # sample variance (ddof 1) = 24a²/18 = 4a²/3, so sigma = 2a/√3.
    a = math.log(1.01)
    assert realized_sigma_1m([100.0, 101.0, 100.0, 101.0]) == pytest.approx(
        2.0 * a / math.sqrt(3.0), rel=1e-12
    )


def test_realized_sigma_constant_drift_is_floored() -> None:
    # closes 100·e^{0.001 i}: every return is 0.001, so the std is 0 -> the floor.
    closes = 100.0 * np.exp(0.001 * np.arange(10))
    assert realized_sigma_1m(closes) == MIN_SIGMA_1M


@pytest.mark.parametrize(
    "closes",
    [
        [100.0, 100.0, 100.0, 100.0],  # flat tape: std 0
        [100.0, 100.0 * math.exp(1e-6), 100.0],  # returns ±1e-6: sigma ≈ 1.4e-6 < 1e-4
        [100.0, 101.0],  # one return only
        [100.0],
        [],
    ],
)
def test_realized_sigma_floor(closes: list[float]) -> None:
    assert realized_sigma_1m(closes) == MIN_SIGMA_1M == 1e-4


def test_realized_sigma_above_floor_is_not_floored() -> None:
    # returns +0.01, −0.01: mean 0, sample variance (2 · 1e-4) / 1 = 2e-4, sigma = √2 · 0.01.
    closes = [100.0, 100.0 * math.exp(0.01), 100.0]
    assert realized_sigma_1m(closes) == pytest.approx(math.sqrt(2.0) * 0.01, rel=1e-12)


# --- vwap -----------------------------------------------------------------------------


def test_vwap_literal() -> None:
    # typical prices (11 + 9 + 10)/3 = 10 and (12 + 10 + 11)/3 = 11;
    # volumes 1 and 3: (10·1 + 11·3) / 4 = 43/4 = 10.75.
    assert vwap([11.0, 12.0], [9.0, 10.0], [10.0, 11.0], [1.0, 3.0]) == pytest.approx(10.75)


def test_vwap_three_bars() -> None:
    # typical prices (6+3+3)/3 = 4, (9+6+6)/3 = 7, (3+3+3)/3 = 3; volumes 2, 1, 0:
    # (4·2 + 7·1 + 3·0) / 3 = 15/3 = 5.
    assert vwap([6.0, 9.0, 3.0], [3.0, 6.0, 3.0], [3.0, 6.0, 3.0], [2.0, 1.0, 0.0]) == (
        pytest.approx(5.0)
    )


def test_vwap_without_volume_is_nan() -> None:
    assert math.isnan(vwap([11.0, 12.0], [9.0, 10.0], [10.0, 11.0], [0.0, 0.0]))
    assert math.isnan(vwap([], [], [], []))


# --- skew_25_delta --------------------------------------------------------------------

# Calls (strikes ascending, |delta| descending) and puts (|delta| ascending).
CALL_DELTA = [0.50, 0.30, 0.20, 0.10]
CALL_IV = [0.18, 0.17, 0.16, 0.15]
PUT_DELTA = [-0.10, -0.20, -0.30, -0.50]
PUT_IV = [0.25, 0.22, 0.20, 0.19]


def test_skew_25_delta_interpolates_in_abs_delta() -> None:
    # call: 0.25 is halfway between |delta| 0.20 (iv 0.16) and 0.30 (iv 0.17): 0.165.
    # put:  0.25 is halfway between |delta| 0.20 (iv 0.22) and 0.30 (iv 0.20): 0.21.
    # skew = 0.21 − 0.165 = 0.045.
    assert skew_25_delta(CALL_DELTA, CALL_IV, PUT_DELTA, PUT_IV) == pytest.approx(0.045)


def test_skew_25_delta_off_midpoint() -> None:
    # call |delta| 0.22 (iv 0.30) .. 0.32 (iv 0.20): at 0.25, 0.30 − 0.3·0.10 = 0.27.
    # put  |delta| 0.24 (iv 0.40) .. 0.28 (iv 0.36): at 0.25, 0.40 − 0.25·0.04 = 0.39.
    # skew = 0.39 − 0.27 = 0.12.
    assert skew_25_delta([0.32, 0.22], [0.20, 0.30], [-0.24, -0.28], [0.40, 0.36]) == (
        pytest.approx(0.12)
    )


def test_skew_25_delta_drops_non_finite_points() -> None:
    # the NaN call point is dropped; the rest interpolates as above.
    call_delta = [0.50, float("nan"), 0.30, 0.20, 0.10]
    call_iv = [0.18, 0.99, 0.17, 0.16, 0.15]
    assert skew_25_delta(call_delta, call_iv, PUT_DELTA, PUT_IV) == pytest.approx(0.045)


@pytest.mark.parametrize(
    ("call_delta", "put_delta"),
    [
        ([0.50, 0.40, 0.30, 0.26], PUT_DELTA),  # calls do not reach down to 0.25
        (CALL_DELTA, [-0.05, -0.10, -0.15, -0.20]),  # puts do not reach up to 0.25
        (CALL_DELTA, [-0.30, float("nan"), float("nan"), float("nan")]),  # 1 finite put
    ],
)
def test_skew_25_delta_nan_when_a_side_does_not_span(
    call_delta: list[float], put_delta: list[float]
) -> None:
    assert math.isnan(skew_25_delta(call_delta, CALL_IV, put_delta, PUT_IV))


def test_skew_25_delta_endpoint_counts_as_spanning() -> None:
    # calls |delta| 0.25..0.50: 0.25 is the endpoint, iv 0.16 there.
    # puts  |delta| 0.10..0.25: 0.25 is the endpoint, iv 0.21 there. skew = 0.05.
    assert skew_25_delta([0.50, 0.25], [0.18, 0.16], [-0.10, -0.25], [0.25, 0.21]) == (
        pytest.approx(0.05)
    )


def test_skew_25_delta_nan_with_a_single_point() -> None:
    assert math.isnan(skew_25_delta([0.25], [0.2], PUT_DELTA, PUT_IV))


# --- feature_scores -------------------------------------------------------------------

# 40 closes c_i = 100 · exp(A i + B (−1)^i), i = 0..39.
# One-minute log returns r_i = A + B((−1)^i − (−1)^{i−1}) = A + 2B(−1)^i, i = 1..39:
# 20 odd minutes at A − 2B and 19 even minutes at A + 2B. For a two-valued sample the
# sum of squared deviations is n1·n2·d²/N = 20·19·(4B)²/39, so the sample variance is
# 380·16B²/(39·38) = 160B²/39 and sigma = 2B·√(40/39).
A = 0.0005
B = 0.0005
N_CLOSES = 40
SIGMA = 2.0 * B * math.sqrt(40.0 / 39.0)  # 0.0010127...


def _closes(n: int = N_CLOSES) -> np.ndarray:
    i = np.arange(n)
    return 100.0 * np.exp(A * i + B * (-1.0) ** i)


def _inputs(**overrides: object) -> FeatureInputs:
    close = _closes()
    fields: dict[str, object] = {
        # typical price (high + low + close)/3 = close + (0.6 − 0.3)/3 = close + 0.1
        "high": close + 0.6,
        "low": close - 0.3,
        "close": close,
        "volume": np.full(N_CLOSES, 1000.0),  # 40 000 so far
        # finite and > 0: 10 000, 10 000 and 40 000, mean 20 000 (the median would be
        # 10 000; NaN, 0 and −5 are dropped)
        "past_volume_same_minute": [10_000.0, float("nan"), 10_000.0, 40_000.0, 0.0, -5.0],
        "other_returns_30m": [0.005, 0.015],  # mean 0.01
        "skew_now": 0.05,
        "skew_before": 0.04,  # the put skew rose by one vol point
        "divergence_z": [1.0, -3.0, float("nan")],  # mean |z| over finite = 2
        "adaptation_factor": 0.7,
    }
    fields.update(overrides)
    return FeatureInputs(**fields)  # type: ignore[arg-type]


def test_feature_scores_sigma_matches_hand_formula() -> None:
    assert realized_sigma_1m(_closes()) == pytest.approx(SIGMA, rel=1e-9)


def test_feature_scores_literal() -> None:
    scores = feature_scores(_inputs())
    assert set(scores) == set(FEATURE_NAMES)

    # The last close is i = 39 (odd, (−1)^39 = −1).
    # 5 minutes:  ln(c39/c34) = 5A + B(−1 − 1) = 5A − 2B = 0.0015
    # 15 minutes: ln(c39/c24) = 15A − 2B = 0.0065
    # 30 minutes: ln(c39/c9)  = 30A + B(−1 − (−1)) = 30A = 0.015
    z5 = (5 * A - 2 * B) / (SIGMA * math.sqrt(5))  # ≈ 0.662
    z15 = (15 * A - 2 * B) / (SIGMA * math.sqrt(15))  # ≈ 1.657
    z30 = (30 * A) / (SIGMA * math.sqrt(30))  # ≈ 2.704
    assert scores["momentum_5m"] == pytest.approx(math.tanh(z5 / 2), rel=1e-9)
    assert scores["momentum_15m"] == pytest.approx(math.tanh(z15 / 2), rel=1e-9)
    assert scores["momentum_30m"] == pytest.approx(math.tanh(z30 / 2), rel=1e-9)
    assert scores["momentum_5m"] == pytest.approx(0.3196, abs=1e-4)
    assert scores["momentum_30m"] == pytest.approx(0.8745, abs=1e-4)

    # VWAP: constant volume, typical = close + 0.1, so VWAP = mean(close) + 0.1.
    # ln(c39 / VWAP) / (sigma √15).
    close = _closes()
    last = 100.0 * math.exp(39 * A - B)
    mean_close = sum(100.0 * math.exp(A * i + B * (-1) ** i) for i in range(40)) / 40
    z_vwap = math.log(last / (mean_close + 0.1)) / (SIGMA * math.sqrt(15))
    assert close[-1] == pytest.approx(last, rel=1e-12)
    assert scores["vwap_deviation"] == pytest.approx(math.tanh(z_vwap / 2), rel=1e-7)

    # relative volume: 40 000 / 20 000 = 2, ln 2 / ln 2 = 1, tanh(1/2).
    assert scores["relative_volume"] == pytest.approx(math.tanh(0.5), rel=1e-12)
    assert scores["relative_volume"] == pytest.approx(0.46211716, abs=1e-8)

    # skew level: 0.05 / 0.02 = 2.5 -> tanh(1.25).
    assert scores["skew_25d"] == pytest.approx(math.tanh(1.25), rel=1e-12)
    # skew change: −(0.05 − 0.04)/0.01 = −1 -> tanh(−0.5): a rising put skew is bearish.
    assert scores["skew_change"] == pytest.approx(math.tanh(-0.5), rel=1e-9)
    assert scores["skew_change"] < 0

    # cross strength: own 30-minute return 30A = 0.015 minus mean(others) 0.01 = 0.005,
    # over sigma √30.
    z_cross = 0.005 / (SIGMA * math.sqrt(30))  # ≈ 0.901
    assert scores["cross_ticker_strength"] == pytest.approx(math.tanh(z_cross / 2), rel=1e-9)

    # divergence: mean(|1|, |−3|) = 2 -> tanh(1).
    assert scores["divergence"] == pytest.approx(math.tanh(1.0), rel=1e-12)

    # regime: 0.7 − 1 = −0.3, not squashed.
    assert scores["regime_adaptation"] == pytest.approx(-0.3, abs=1e-12)


def test_feature_scores_falling_put_skew_is_bullish() -> None:
    # −(0.03 − 0.05)/0.01 = 2 -> tanh(1) > 0.
    scores = feature_scores(_inputs(skew_now=0.03, skew_before=0.05))
    assert scores["skew_change"] == pytest.approx(math.tanh(1.0), rel=1e-12)


def test_feature_scores_low_relative_volume_is_negative() -> None:
    # 40 000 / 160 000 = 1/4: ln(1/4)/ln 2 = −2 -> tanh(−1).
    scores = feature_scores(_inputs(past_volume_same_minute=[160_000.0]))
    assert scores["relative_volume"] == pytest.approx(math.tanh(-1.0), rel=1e-12)


@pytest.mark.parametrize("factor", [1.2, 1.0, 0.5])
def test_feature_scores_regime_adaptation(factor: float) -> None:
    scores = feature_scores(_inputs(adaptation_factor=factor))
    assert scores["regime_adaptation"] == pytest.approx(factor - 1.0, abs=1e-12)


def test_feature_scores_flat_tape_scores_zero() -> None:
    # all closes 100: sigma is the floor and every log return is 0 -> score 0.
    close = np.full(40, 100.0)
    scores = feature_scores(
        _inputs(high=close, low=close, close=close, other_returns_30m=[0.0, 0.0])
    )
    for name in ("momentum_5m", "momentum_15m", "momentum_30m", "vwap_deviation"):
        assert scores[name] == 0.0
    assert scores["cross_ticker_strength"] == 0.0


def test_feature_scores_short_input_is_nan() -> None:
    # 10 closes: a 5-minute return exists (needs 6 closes), 15- and 30-minute do not.
    close = _closes(10)
    scores = feature_scores(
        _inputs(high=close + 0.6, low=close - 0.3, close=close, volume=np.full(10, 1000.0))
    )
    sigma10 = realized_sigma_1m(close)
    z5 = (5 * A - 2 * B) / (sigma10 * math.sqrt(5))
    assert scores["momentum_5m"] == pytest.approx(math.tanh(z5 / 2), rel=1e-9)
    assert math.isnan(scores["momentum_15m"])
    assert math.isnan(scores["momentum_30m"])
    assert math.isnan(scores["cross_ticker_strength"])
    assert math.isfinite(scores["vwap_deviation"])


@pytest.mark.parametrize(("n", "finite"), [(30, False), (31, True)])
def test_feature_scores_momentum_30m_needs_31_closes(n: int, finite: bool) -> None:
    close = _closes(n)
    scores = feature_scores(
        _inputs(high=close + 0.6, low=close - 0.3, close=close, volume=np.full(n, 1000.0))
    )
    assert math.isfinite(scores["momentum_30m"]) is finite
    assert math.isfinite(scores["cross_ticker_strength"]) is finite


def test_feature_scores_missing_context_is_nan() -> None:
    scores = feature_scores(
        _inputs(
            volume=np.zeros(N_CLOSES),  # no volume: no VWAP and no relative volume
            past_volume_same_minute=[],
            other_returns_30m=[],
            divergence_z=[float("nan")],
            skew_now=float("nan"),
        )
    )
    for name in (
        "vwap_deviation",
        "relative_volume",
        "cross_ticker_strength",
        "divergence",
        "skew_25d",
        "skew_change",
    ):
        assert math.isnan(scores[name]), name
    # momentum needs only closes
    assert math.isfinite(scores["momentum_5m"])


def test_feature_scores_empty_session_is_nan_but_chain_and_regime() -> None:
    scores = feature_scores(
        _inputs(high=[], low=[], close=[], volume=[], past_volume_same_minute=[1000.0])
    )
    for name in DIRECTIONAL - {"skew_change"}:  # the skew comes from the chain
        assert math.isnan(scores[name]), name
    assert scores["skew_change"] == pytest.approx(math.tanh(-0.5))
    assert math.isnan(scores["relative_volume"])  # no volume so far
    assert scores["regime_adaptation"] == pytest.approx(-0.3)


# --- direction_score ------------------------------------------------------------------


def test_direction_score_all_finite() -> None:
    scores = {
        "momentum_5m": 0.5,
        "momentum_15m": -0.2,
        "momentum_30m": 0.4,
        "vwap_deviation": 0.1,
        "skew_change": -0.6,
        "cross_ticker_strength": 0.3,
        "divergence": 0.99,  # not directional: ignored
        "relative_volume": -0.99,
    }
    # 0.10·0.5 + 0.15·(−0.2) + 0.15·0.4 + 0.20·0.1 + 0.15·(−0.6) + 0.25·0.3
    # = 0.05 − 0.03 + 0.06 + 0.02 − 0.09 + 0.075 = 0.085 (weights sum to 1)
    assert direction_score(scores) == pytest.approx(0.085, abs=1e-12)


def test_direction_score_renormalizes_over_finite() -> None:
    scores = {
        "momentum_5m": 0.8,
        "momentum_15m": float("nan"),
        "momentum_30m": float("inf"),
        "cross_ticker_strength": -0.2,
        "divergence": 1.0,
    }
    # (0.10·0.8 + 0.25·(−0.2)) / (0.10 + 0.25) = 0.03 / 0.35 = 0.0857142857...
    assert direction_score(scores) == pytest.approx(0.03 / 0.35, abs=1e-12)
    assert direction_score(scores) == pytest.approx(0.0857142857, abs=1e-9)


def test_direction_score_single_score_is_itself() -> None:
    assert direction_score({"skew_change": -0.4}) == pytest.approx(-0.4, abs=1e-12)


def test_direction_score_zero_when_none_finite() -> None:
    assert direction_score({}) == 0.0
    assert direction_score({name: float("nan") for name in FEATURE_NAMES}) == 0.0
    assert direction_score({"divergence": 0.9, "relative_volume": 0.5}) == 0.0
