"""Tests of the pure-numpy calibration module (no database)."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from signals.engine.calibration import (
    DEFAULT_BUCKETS,
    Bucket,
    CalibrationReport,
    brier_score,
    bucket_index,
    bucket_label,
    calibration_report,
    wilson_interval,
)

LABELS = ["0.0-0.5", "0.5-0.6", "0.6-0.7", "0.7-0.8", "0.8-0.9", "0.9-1.0"]


# --- Wilson -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hits", "n"),
    [(0, 1), (1, 1), (0, 10), (10, 10), (7, 10), (1, 3), (50, 100), (3, 1000), (999, 1000)],
)
def test_wilson_matches_statsmodels(hits: int, n: int) -> None:
    low, high = wilson_interval(hits, n)
    ref_low, ref_high = proportion_confint(hits, n, alpha=0.05, method="wilson")
    assert low == pytest.approx(float(ref_low), abs=1e-12)
    assert high == pytest.approx(float(ref_high), abs=1e-12)
    assert 0.0 <= low <= hits / n <= high <= 1.0


def test_wilson_matches_statsmodels_other_z() -> None:
    # z = 2.575829303548901 is the two-sided 99% quantile, i.e. alpha = 0.01.
    low, high = wilson_interval(4, 9, z=2.575829303548901)
    ref_low, ref_high = proportion_confint(4, 9, alpha=0.01, method="wilson")
    assert (low, high) == pytest.approx((float(ref_low), float(ref_high)), abs=1e-12)


def test_wilson_hand_computed_7_of_10() -> None:
    # p = 0.7, n = 10, z = 1.959964, z^2 = 3.841459
    # denom  = 1 + z^2/n             = 1.3841459
    # centre = (0.7 + z^2/20) / denom = 0.8920729 / 1.3841459 = 0.6444934
    # half   = z/denom * sqrt(0.7*0.3/10 + z^2/400)
    #        = 1.4160097 * sqrt(0.021 + 0.0096036) = 1.4160097 * 0.1749390 = 0.2477153
    # interval = (0.6444934 - 0.2477153, 0.6444934 + 0.2477153) = (0.3967781, 0.8922087)
    low, high = wilson_interval(7, 10)
    assert low == pytest.approx(0.3967781, abs=1e-4)
    assert high == pytest.approx(0.8922087, abs=1e-4)


def test_wilson_extremes_and_empty() -> None:
    # p = 0: centre = half = (z^2/2n) / (1 + z^2/n), so high = (z^2/n) / (1 + z^2/n)
    #      = 0.3841459 / 1.3841459 = 0.2775328
    low, high = wilson_interval(0, 10)
    assert low == 0.0  # clipped: centre - half is 0 up to rounding
    assert high == pytest.approx(0.27753279986288926, abs=1e-12)
    low, high = wilson_interval(10, 10)
    assert high == 1.0
    assert low == pytest.approx(1 - 0.27753279986288926, abs=1e-12)  # symmetric
    nan_low, nan_high = wilson_interval(0, 0)
    assert math.isnan(nan_low) and math.isnan(nan_high)


@pytest.mark.parametrize(
    ("hits", "n", "z"), [(-1, 5, 1.96), (6, 5, 1.96), (0, -1, 1.96), (1, 2, 0.0)]
)
def test_wilson_rejects_invalid(hits: int, n: int, z: float) -> None:
    with pytest.raises(ValueError):
        wilson_interval(hits, n, z)


def test_wilson_rejects_non_integer_counts() -> None:
    with pytest.raises(TypeError):
        wilson_interval(2.5, 5)  # type: ignore[arg-type]


# --- Brier --------------------------------------------------------------------------------


def test_brier_score_values() -> None:
    # (0.9-1)^2 + (0.2-0)^2 + (0.6-0)^2 + (1-1)^2 = 0.01 + 0.04 + 0.36 + 0 = 0.41; /4 = 0.1025
    assert brier_score([0.9, 0.2, 0.6, 1.0], [1, 0, 0, 1]) == pytest.approx(0.1025, abs=1e-15)
    assert brier_score([0.0, 1.0], [0, 1]) == 0.0
    assert brier_score([0.0, 1.0], [1, 0]) == 1.0
    assert brier_score(np.array([0.5]), np.array([True])) == 0.25  # booleans are 0/1
    assert isinstance(brier_score([0.3], [0]), float)


def test_brier_score_empty_is_nan() -> None:
    assert math.isnan(brier_score([], []))


@pytest.mark.parametrize(
    ("probability", "outcome"),
    [
        ([0.5, 0.6], [1]),  # length mismatch
        ([1.1], [1]),  # above 1
        ([-0.1], [0]),  # below 0
        ([math.nan], [0]),  # NaN probability
        ([0.5], [2]),  # outcome not 0/1
        ([0.5], [0.5]),  # outcome not 0/1
        ([0.5], [math.nan]),  # NaN outcome
        ([[0.5, 0.6]], [[1, 0]]),  # not 1-D
    ],
)
def test_invalid_input_raises(probability: object, outcome: object) -> None:
    with pytest.raises(ValueError):
        brier_score(probability, outcome)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        calibration_report(probability, outcome)  # type: ignore[arg-type]


# --- Buckets ------------------------------------------------------------------------------


def test_bucket_index_edges() -> None:
    p = [0.0, 0.49999, 0.5, 0.55, 0.6, 0.7, 0.79, 0.8, 0.9, 0.95, 1.0]
    expected = [0, 0, 1, 1, 2, 3, 3, 4, 5, 5, 5]
    idx = bucket_index(p)
    assert idx.dtype == np.intp
    assert idx.tolist() == expected
    assert bucket_index(np.array([1.0])).tolist() == [len(DEFAULT_BUCKETS) - 2]


def test_bucket_index_custom_edges_and_invalid() -> None:
    assert bucket_index([0.1, 0.25, 0.5, 0.75], edges=(0.0, 0.25, 0.75)).tolist() == [0, 1, 1, 1]
    with pytest.raises(ValueError):
        bucket_index([0.8], edges=(0.0, 0.25, 0.75))  # outside the edges
    with pytest.raises(ValueError):
        bucket_index([0.5], edges=(0.0, 0.5, 0.5, 1.0))  # not strictly increasing
    with pytest.raises(ValueError):
        bucket_index([0.5], edges=(0.0,))  # too few edges
    with pytest.raises(ValueError):
        bucket_index([math.nan])


def test_bucket_label() -> None:
    assert bucket_label(0.6, 0.7) == "0.6-0.7"
    assert bucket_label(0.0, 0.5) == "0.0-0.5"
    assert bucket_label(0.9, 1.0) == "0.9-1.0"
    assert bucket_label(0.65, 0.7) == "0.65-0.7"
    assert bucket_label(0.7000000000000001, 0.8) == "0.7-0.8"
    assert [bucket_label(lo, hi) for lo, hi in itertools.pairwise(DEFAULT_BUCKETS)] == LABELS


# --- Calibration report -------------------------------------------------------------------

# Case A: forecasts constant within each bucket.
#   bucket 0.5-0.6: p = 0.55 x4, outcomes 1,0,1,0 -> n 4, hits 2, obar_b 0.5
#   bucket 0.7-0.8: p = 0.75 x4, outcomes 1,1,1,0 -> n 4, hits 3, obar_b 0.75
#   bucket 0.9-1.0: p = 0.95 x2, outcomes 1,1     -> n 2, hits 2, obar_b 1.0
# N = 10, hits = 7, obar = 0.7
CONST_P = [0.55, 0.55, 0.55, 0.55, 0.75, 0.75, 0.75, 0.75, 0.95, 0.95]
CONST_O = [1, 0, 1, 0, 1, 1, 1, 0, 1, 1]


def test_report_constant_within_buckets() -> None:
    r = calibration_report(CONST_P, CONST_O)
    assert r.count == 10 and r.hits == 7
    assert r.base_rate == pytest.approx(0.7, abs=1e-15)
    assert [b.label for b in r.buckets] == LABELS
    assert [b.count for b in r.buckets] == [0, 4, 0, 4, 0, 2]
    assert [b.hits for b in r.buckets] == [0, 2, 0, 3, 0, 2]
    assert [b.hit_rate for b in r.buckets] == [None, 0.5, None, 0.75, None, 1.0]
    means = [b.mean_confidence for b in r.buckets]
    assert means[0] is None and means[2] is None and means[4] is None
    assert means[1] == pytest.approx(0.55) and means[3] == pytest.approx(0.75)
    assert means[5] == pytest.approx(0.95)
    # Brier: 0.5-0.6: 2*(0.45)^2 + 2*(0.55)^2 = 0.405 + 0.605 = 1.01
    #        0.7-0.8: 3*(0.25)^2 + (0.75)^2   = 0.1875 + 0.5625 = 0.75
    #        0.9-1.0: 2*(0.05)^2              = 0.005
    #        (1.01 + 0.75 + 0.005) / 10 = 0.1765
    assert r.brier_score == pytest.approx(0.1765, abs=1e-12)
    # REL = (4*(0.55-0.5)^2 + 4*(0.75-0.75)^2 + 2*(0.95-1)^2) / 10 = (0.01 + 0 + 0.005)/10
    assert r.reliability == pytest.approx(0.0015, abs=1e-12)
    # RES = (4*(0.5-0.7)^2 + 4*(0.75-0.7)^2 + 2*(1-0.7)^2) / 10 = (0.16 + 0.01 + 0.18)/10
    assert r.resolution == pytest.approx(0.035, abs=1e-12)
    # UNC = 0.7 * 0.3
    assert r.uncertainty == pytest.approx(0.21, abs=1e-12)
    # ECE = 0.4*|0.5-0.55| + 0.4*|0.75-0.75| + 0.2*|1-0.95| = 0.02 + 0 + 0.01
    assert r.expected_calibration_error == pytest.approx(0.03, abs=1e-12)
    # Murphy identity holds exactly: 0.0015 - 0.035 + 0.21 = 0.1765
    assert r.brier_score == pytest.approx(r.reliability - r.resolution + r.uncertainty, abs=1e-12)
    # Wilson bounds of each non-empty bucket are those of its hits/count.
    b = r.buckets[3]
    assert (b.wilson_low, b.wilson_high) == wilson_interval(3, 4)
    assert all(b.wilson_low is None and b.wilson_high is None for b in r.buckets[::2])


# Case B: forecasts vary within buckets, and sit on the bucket edges.
#   p = 0.3, 0.4       (0.0-0.5) outcomes 0,1   -> n 2, hits 1, pbar 0.35,  obar_b 0.5
#   p = 0.5, 0.55      (0.5-0.6) outcomes 0,1   -> n 2, hits 1, pbar 0.525, obar_b 0.5
#   p = 0.6            (0.6-0.7) outcome  1     -> n 1, hits 1, pbar 0.6,   obar_b 1
#   p = 0.7            (0.7-0.8) outcome  1     -> n 1, hits 1, pbar 0.7,   obar_b 1
#   p = 0.8            (0.8-0.9) outcome  0     -> n 1, hits 0, pbar 0.8,   obar_b 0
#   p = 0.9, 0.9, 1.0  (0.9-1.0) outcomes 1,1,1 -> n 3, hits 3, pbar 14/15, obar_b 1
# N = 10, hits = 7, obar = 0.7
VAR_P = [0.3, 0.4, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 0.9, 1.0]
VAR_O = [0, 1, 0, 1, 1, 1, 0, 1, 1, 1]


def test_report_varying_within_buckets() -> None:
    r = calibration_report(VAR_P, VAR_O)
    assert r.count == 10 and r.hits == 7
    assert [b.count for b in r.buckets] == [2, 2, 1, 1, 1, 3]
    assert [b.hits for b in r.buckets] == [1, 1, 1, 1, 0, 3]
    assert [b.hit_rate for b in r.buckets] == [0.5, 0.5, 1.0, 1.0, 0.0, 1.0]
    assert [b.mean_confidence for b in r.buckets] == pytest.approx(
        [0.35, 0.525, 0.6, 0.7, 0.8, 14 / 15], abs=1e-12
    )
    # Brier: 0.09 + 0.36 + 0.25 + 0.2025 + 0.16 + 0.09 + 0.64 + 0.01 + 0.01 + 0 = 1.8125; /10
    assert r.brier_score == pytest.approx(0.18125, abs=1e-12)
    # REL: 2*0.15^2 + 2*0.025^2 + 0.4^2 + 0.3^2 + 0.8^2 + 3*(1/15)^2
    #    = 0.045 + 0.00125 + 0.16 + 0.09 + 0.64 + 1/75 = 0.93625 + 1/75 = 0.9495833; /10
    assert r.reliability == pytest.approx(0.093625 + 1 / 750, abs=1e-12)
    # RES: 2*0.2^2 + 2*0.2^2 + 0.3^2 + 0.3^2 + 0.7^2 + 3*0.3^2
    #    = 0.08 + 0.08 + 0.09 + 0.09 + 0.49 + 0.27 = 1.1; /10
    assert r.resolution == pytest.approx(0.11, abs=1e-12)
    assert r.uncertainty == pytest.approx(0.21, abs=1e-12)
    # ECE: 0.2*0.15 + 0.2*0.025 + 0.1*0.4 + 0.1*0.3 + 0.1*0.8 + 0.3*(1/15)
    #    = 0.03 + 0.005 + 0.04 + 0.03 + 0.08 + 0.02 = 0.205
    assert r.expected_calibration_error == pytest.approx(0.205, abs=1e-12)
    # REL - RES + UNC = 0.0949583 - 0.11 + 0.21 = 0.1949583 != 0.18125
    murphy = r.reliability - r.resolution + r.uncertainty
    assert murphy - r.brier_score == pytest.approx(0.0949583333 + 0.1 - 0.18125, abs=1e-9)
    assert abs(murphy - r.brier_score) > 0.01
    # Stephenson et al. (2008) extra terms close the gap:
    #   WBV = (2*0.05^2 + 2*0.025^2 + 2*(1/30)^2 + (1/15)^2) / 10 = (0.005 + 0.00125 + 1/150)/10
    #   WBC = 2/10 * ((-0.05)(-0.5) + 0.05*0.5 + (-0.025)(-0.5) + 0.025*0.5) = 0.2 * 0.075 = 0.015
    wbv = (0.005 + 0.00125 + 1 / 150) / 10
    wbc = 0.015
    assert r.brier_score == pytest.approx(murphy + wbv - wbc, abs=1e-12)


def test_murphy_identity_with_extra_terms_random() -> None:
    rng = np.random.default_rng(20240601)
    p = rng.uniform(0.0, 1.0, 500)
    o = (rng.uniform(0.0, 1.0, 500) < p).astype(int)
    r = calibration_report(p, o)
    idx = bucket_index(p)
    wbv = wbc = 0.0
    for b in range(len(DEFAULT_BUCKETS) - 1):
        m = idx == b
        if m.any():
            dp = p[m] - p[m].mean()
            wbv += float(np.sum(dp**2))
            wbc += 2.0 * float(np.sum(dp * (o[m] - o[m].mean())))
    assert r.brier_score == pytest.approx(brier_score(p, o), abs=1e-15)
    assert r.brier_score == pytest.approx(
        r.reliability - r.resolution + r.uncertainty + (wbv - wbc) / 500, abs=1e-12
    )
    assert sum(b.count for b in r.buckets) == 500
    assert sum(b.hits for b in r.buckets) == r.hits == int(o.sum())


def test_perfectly_calibrated_by_bucket() -> None:
    # Within each bucket the (constant) forecast equals the hit rate.
    p = [*[0.25] * 4, *[0.5] * 2, *[0.6] * 5, *[0.75] * 4, *[0.8] * 5, *[1.0] * 2]
    o = [
        *(1, 0, 0, 0),  # 0.25: 1 of 4
        *(1, 0),  # 0.5: 1 of 2
        *(1, 1, 1, 0, 0),  # 0.6: 3 of 5
        *(1, 1, 1, 0),  # 0.75: 3 of 4
        *(1, 1, 1, 1, 0),  # 0.8: 4 of 5
        *(1, 1),  # 1.0: 2 of 2
    ]
    r = calibration_report(p, o)
    assert [b.count for b in r.buckets] == [4, 2, 5, 4, 5, 2]
    assert [b.hit_rate for b in r.buckets] == [0.25, 0.5, 0.6, 0.75, 0.8, 1.0]
    assert r.reliability == pytest.approx(0.0, abs=1e-15)
    assert r.expected_calibration_error == pytest.approx(0.0, abs=1e-15)
    # With REL = 0, BS = UNC - RES exactly.
    assert r.brier_score == pytest.approx(r.uncertainty - r.resolution, abs=1e-12)
    assert r.resolution > 0


def test_empty_input() -> None:
    r = calibration_report([], [])
    assert r.count == 0 and r.hits == 0
    assert r.base_rate is None and r.brier_score is None
    assert r.reliability is None and r.resolution is None and r.uncertainty is None
    assert r.expected_calibration_error is None
    assert [b.label for b in r.buckets] == LABELS
    assert all(
        b.count == 0 and b.hits == 0 and b.hit_rate is None and b.mean_confidence is None
        for b in r.buckets
    )
    assert r.as_dict()["buckets"][0] == {
        "label": "0.0-0.5",
        "low": 0.0,
        "high": 0.5,
        "count": 0,
        "hits": 0,
        "hit_rate": None,
        "mean_confidence": None,
        "wilson_low": None,
        "wilson_high": None,
    }


def test_all_in_one_bucket() -> None:
    # p = 0.62, 0.64, 0.66, 0.68; outcomes 1, 0, 1, 1; all in 0.6-0.7, obar = 0.75.
    r = calibration_report([0.62, 0.64, 0.66, 0.68], [1, 0, 1, 1])
    assert [b.count for b in r.buckets] == [0, 0, 4, 0, 0, 0]
    only = r.buckets[2]
    assert only.label == "0.6-0.7" and only.hits == 3 and only.hit_rate == 0.75
    assert only.mean_confidence == pytest.approx(0.65, abs=1e-12)
    # One bucket: its hit rate is the base rate, so RES = 0; REL = (0.65 - 0.75)^2 = 0.01.
    assert r.resolution == pytest.approx(0.0, abs=1e-15)
    assert r.reliability == pytest.approx(0.01, abs=1e-12)
    assert r.uncertainty == pytest.approx(0.1875, abs=1e-12)
    assert r.expected_calibration_error == pytest.approx(0.1, abs=1e-12)
    # Brier: (0.38^2 + 0.64^2 + 0.34^2 + 0.32^2) / 4 = (0.1444 + 0.4096 + 0.1156 + 0.1024)/4
    assert r.brier_score == pytest.approx(0.193, abs=1e-12)


def test_probability_one_in_last_bucket() -> None:
    r = calibration_report([1.0, 1.0, 1.0], [1, 1, 0])
    assert [b.count for b in r.buckets] == [0, 0, 0, 0, 0, 3]
    last = r.buckets[-1]
    assert last.label == "0.9-1.0" and last.hits == 2 and last.mean_confidence == 1.0
    assert r.brier_score == pytest.approx(1 / 3, abs=1e-15)
    assert r.expected_calibration_error == pytest.approx(1 / 3, abs=1e-15)


def test_custom_edges_and_invalid_edges() -> None:
    r = calibration_report([0.1, 0.4, 0.9], [0, 1, 1], edges=(0.0, 0.5, 1.0))
    assert [b.label for b in r.buckets] == ["0.0-0.5", "0.5-1.0"]
    assert [b.count for b in r.buckets] == [2, 1]
    with pytest.raises(ValueError):
        calibration_report([0.9], [1], edges=(0.0, 0.5, 0.8))  # 0.9 outside the edges
    with pytest.raises(ValueError):
        calibration_report([0.5], [1], edges=(0.0, 0.601, 0.604, 1.0))  # both "0.6"
    with pytest.raises(ValueError):
        calibration_report([0.5], [1], edges=(0.0, 0.7, 0.6, 1.0))  # not increasing


def test_types_and_as_dict_is_json() -> None:
    r = calibration_report(VAR_P, np.array(VAR_O, dtype=bool))
    assert isinstance(r, CalibrationReport)
    assert all(isinstance(b, Bucket) for b in r.buckets)
    for value in (
        r.base_rate,
        r.brier_score,
        r.reliability,
        r.resolution,
        r.uncertainty,
        r.expected_calibration_error,
    ):
        assert type(value) is float
    assert type(r.count) is int and type(r.hits) is int
    for b in r.buckets:
        assert type(b.count) is int and type(b.hits) is int
        assert type(b.low) is float and type(b.high) is float
        for value in (b.hit_rate, b.mean_confidence, b.wilson_low, b.wilson_high):
            assert type(value) is float
    d = r.as_dict()
    assert isinstance(d["buckets"], list) and len(d["buckets"]) == 6
    assert json.loads(json.dumps(d)) == d
    assert d["buckets"][5]["label"] == "0.9-1.0" and d["buckets"][5]["count"] == 3
    assert d["expected_calibration_error"] == pytest.approx(0.205, abs=1e-12)
    with pytest.raises(AttributeError):
        r.count = 3  # type: ignore[misc]
