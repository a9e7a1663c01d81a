"""A replayed 0DTE session end to end: the producer steps a virtual clock through a whole
session; minute bars, chains, snapshots, correlations and the regime exist; the cadence
generates signals through the job runner with every key of the spec's examples; one
signal's confidence is rebuilt from its stored features and model version; outcomes are
resolved at fill prices from the stored snapshots; and the calibration command's figures
agree with a count by hand over the stored signals."""

from __future__ import annotations

import io
import json
import math
from typing import Any

import numpy as np
import pytest
from django.core.cache import cache
from django.core.management import call_command
from rest_framework.test import APIClient

from batch.models import BatchJob
from marketdata.clock import VirtualClock, use_clock
from marketdata.models import ChainSnapshot, MinuteBar, Security
from marketdata.producer import MarketProducer
from marketdata.selectors import market_correlation, risk_free_rate
from signals.engine.calibration import wilson_interval
from signals.engine.features import FEATURE_NAMES
from signals.engine.fills import liquidation_value
from signals.models import ConfidenceModel, Signal
from signals.replay import FIT_CLOCK, session_replay
from signals.services import signal_confidence
from signals.tests.factories import SESSION, WEIGHTS, known_model, market_history
from tests.contract import ZERO_DTE, assert_matches_example, spec_example


@pytest.fixture
def market(db: Any, settings: Any) -> Any:
    settings.MARKET_MINUTE_HISTORY_SESSIONS = 2
    market_history()
    yield
    cache.delete("market-producer:replay")


def _replay_whole_session(capture: Any) -> VirtualClock:
    clock = VirtualClock(SESSION, minute=0)
    producer = MarketProducer()
    with use_clock(clock):
        for minute in range(1, clock.read().session_minutes + 1):
            clock.minute = minute
            with capture(execute=True):
                producer.tick()
        producer.release()
    return clock


def test_a_replayed_session_produces_the_market_and_explainable_signals(
    market: Any,
    eager_celery: Any,
    django_capture_on_commit_callbacks: Any,
    auth_client: APIClient,
    settings: Any,
) -> None:
    model = known_model()
    clock = _replay_whole_session(django_capture_on_commit_callbacks)

    # The market: every minute of the tickers and the VIX, a chain snapshot a minute.
    for symbol in ("SPY", "QQQ", "IWM", "^VIX"):
        assert MinuteBar.objects.filter(security_id=symbol, session=SESSION).count() >= 389
    assert ChainSnapshot.objects.filter(session=SESSION, symbol="SPY").count() >= 388
    late = VirtualClock(SESSION, minute=300).read()
    correlation = market_correlation(late)
    assert all(v is not None for v in correlation["correlations"].values())
    assert correlation["regime"] in {
        "low_volatility",
        "normal",
        "high_volatility",
        "extreme_volatility",
    }

    # Put-call parity within the spread on every stored chain: C − P = S e^(−qT) − K e^(−rT).
    rate, _ = risk_free_rate(SESSION)
    yields = dict(
        Security.objects.filter(symbol__in=["SPY", "QQQ", "IWM"]).values_list(
            "symbol", "dividend_yield"
        )
    )
    checked = 0
    for snap in ChainSnapshot.objects.filter(session=SESSION):
        t = snap.minutes_to_expiration / 525_600
        spot, q = float(snap.underlying_price), float(yields[snap.symbol] or 0)
        for call, put in zip(snap.calls, snap.puts, strict=True):
            assert call["strike"] == put["strike"]
            parity = spot * math.exp(-q * t) - call["strike"] * math.exp(-rate * t)
            assert call["bid"] - put["ask"] - 1e-9 <= parity <= call["ask"] - put["bid"] + 1e-9
            checked += 1
    assert checked > 20_000

    # The cadence: one job per cadence minute and the time exit, all completed.
    jobs = BatchJob.objects.filter(job_name="signals_cycle")
    cadence = range(settings.SIGNAL_FIRST_MINUTE, 375, settings.SIGNAL_CADENCE_MINUTES)
    assert jobs.count() == len(cadence) + 1
    assert set(jobs.values_list("status", flat=True)) == {"completed"}
    signals = Signal.objects.filter(session=SESSION, clock="replay")
    assert set(signals.values_list("minute", flat=True)) <= set(cadence)
    assert signals.count() >= len(cadence)  # most minutes give all three tickers a signal
    assert signals.filter(status="active").count() <= 3  # one live signal per ticker

    # Every key of the spec's examples, computed.
    example_detail = spec_example(ZERO_DTE, "GET /signals/{signal_id}")
    example_active = spec_example(ZERO_DTE, "GET /signals/active")["signals"][0]
    complete = 0
    for signal in signals:
        body = auth_client.get(f"/api/v1/signals/{signal.id}").json()
        assert_matches_example(body, example_detail)
        assert_matches_example(body, example_active)
        flat = [
            body["confidence"],
            *body["entry_criteria"].values(),
            body["risk_metrics"]["max_loss"],
        ]
        flat += list(body["analysis"]["technical_factors"].values())
        flat += list(body["analysis"]["correlation_factors"].values())
        flat += list(body["analysis"]["market_regime"].values())
        complete += all(v is not None for v in flat if not isinstance(v, dict))
        assert body["outcome"]["reason"] in {"target", "stop", "time"}  # all resolved
    assert complete >= 1

    # One signal's confidence, rebuilt from its stored features and model version.
    signal = signals.order_by("minute", "symbol").first()
    family = {"bull_call_spread": "directional", "bear_put_spread": "directional"}.get(
        signal.strategy, "range" if signal.strategy.startswith("iron") else "breakout"
    )
    stored = ConfidenceModel.objects.get(version=signal.model_id)
    assert stored == model
    z = stored.families[family]["intercept"] + sum(
        f.weight * f.value for f in signal.features.all()
    )
    assert signal.confidence == pytest.approx(1 / (1 + math.exp(-z)), abs=1e-6)
    assert {f.name for f in signal.features.all()} == set(FEATURE_NAMES)
    assert all(f.weight == WEIGHTS[f.name] for f in signal.features.all())

    # An outcome, rebuilt from the stored snapshots at fill prices.
    resolved = signals.exclude(outcome_reason="time").first() or signal
    snaps = ChainSnapshot.objects.filter(
        symbol=resolved.symbol,
        timestamp__gt=resolved.generated_at,
        timestamp__lte=resolved.outcome_at,
    ).order_by("timestamp")
    last = snaps.last()
    quotes = []
    for leg in resolved.legs:
        side = last.calls if leg["option_type"] == "call" else last.puts
        row = next(r for r in side if r["strike"] == leg["strike"])
        quotes.append((leg["action"], row["bid"], row["ask"]))
    kept = [q for q in quotes if not (q[0] == "buy" and q[1] == 0)]
    value = (
        liquidation_value([q[0] for q in kept], [q[1] for q in kept], [q[2] for q in kept])
        if kept
        else 0.0
    )
    # Net of the round trip's fees per package (the trading app's fee model), a share.
    fees = resolved.entry_criteria["round_trip_fees"]
    assert fees is not None and fees > 0
    assert resolved.outcome_pnl == pytest.approx(
        value - resolved.entry_criteria["net_price"] - fees / 100, abs=1e-9
    )
    assert resolved.outcome_hit == (resolved.outcome_reason == "target")

    # After the close nothing is active, and the body says the market is closed.
    with use_clock(VirtualClock(SESSION, minute=clock.read().session_minutes + 5)):
        closed = auth_client.get("/api/v1/signals/active").json()
    assert closed["signals"] == [] and closed["market_status"] == "closed"


def test_the_calibration_command_agrees_with_a_count_by_hand(market: Any, settings: Any) -> None:
    """``calibrate_signals`` on one replayed session: its bucket counts, hit rates, Wilson
    intervals and Brier score equal those counted here over the stored signals."""
    settings.SIGNAL_CADENCE_MINUTES = 30
    model = known_model()
    out = io.StringIO()
    call_command(
        "calibrate_signals", "--sessions", "1", "--end", SESSION.isoformat(), "--json", stdout=out
    )
    report = json.loads(out.getvalue())
    signals = list(session_replay(SESSION))  # replayed once already: the stored ones
    assert signals and all(s.clock == FIT_CLOCK for s in signals)
    p = np.array([signal_confidence(s, model) for s in signals])
    y = np.array([1.0 if s.outcome_hit else 0.0 for s in signals])
    assert report["count"] == len(signals) and report["hits"] == int(y.sum())
    assert report["brier_score"] == pytest.approx(float(np.mean((p - y) ** 2)), abs=1e-12)
    for bucket in report["buckets"]:
        inside = (p >= bucket["low"]) & ((p < bucket["high"]) | (bucket["high"] == 1.0))
        assert bucket["count"] == int(inside.sum())
        if inside.any():
            hits = int(y[inside].sum())
            assert bucket["hit_rate"] == pytest.approx(hits / inside.sum())
            low, high = wilson_interval(hits, int(inside.sum()))
            assert (bucket["wilson_low"], bucket["wilson_high"]) == pytest.approx((low, high))
    # Signals of the fit clock are never active for users.
    with use_clock(VirtualClock(SESSION, minute=200)):
        assert not Signal.objects.filter(clock="replay").exists()
