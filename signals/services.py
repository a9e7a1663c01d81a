"""Writes of the signals app: generating signals at a market minute, storing their
features, resolving their outcomes, and fitting the confidence model.

Generation (:func:`signals_generate`), for each ticker at market time ``at``:

1. reads the session's completed minutes, the same minute of past sessions, the 0DTE
   chain at ``at`` and 30 minutes before, the pairs' divergence and the VIX regime
   (marketdata selectors);
2. scores the features (``signals.engine.features``) and takes the direction score:
   bullish or bearish beyond ``SIGNAL_DIRECTION_THRESHOLD``, neutral otherwise;
3. chooses the strategy and its legs on the chain (``signals.engine.strategies``), prices
   the package at the fill rule (``signals.engine.fills``) and takes its risk metrics and
   the chain's risk-neutral probability of profit (``signals.engine.payoff``);
4. sets the entry criteria from the default trading config and scores the confidence
   with the active model version (``signals.engine.confidence``);
5. stores the signal with every model input and weight, supersedes the ticker's earlier
   active signals and, after the commit, pushes ``new_signal`` to ``/ws/signals``.

One signal per ticker, clock and market minute: a second generation at the same minute
returns the stored one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from marketdata import calendar
from marketdata.chains import option_chains
from marketdata.clock import CLOCK_LIVE, CLOCK_REPLAY, MarketTime
from marketdata.selectors import (
    LastPrice,
    SessionMinutes,
    chain_snapshots_at,
    chain_snapshots_between,
    market_correlation,
    past_volume_by_minute,
    session_minute_bars,
    vix_level,
)
from marketdata.tickers import ZERO_DTE_TICKERS
from sigmasight.timefmt import utc_stamp
from sigmasight.ws import publish
from signals.engine.calibration import CalibrationReport, brier_score, calibration_report
from signals.engine.confidence import (
    FAMILIES,
    STRATEGY_FAMILY,
    aligned_inputs,
    fit_logistic,
    probability,
)
from signals.engine.features import (
    FEATURE_CATEGORY,
    FEATURE_NAMES,
    FeatureInputs,
    direction_score,
    feature_scores,
    skew_25_delta,
)
from signals.engine.fills import UnfillableQuote, first_exit, liquidation_value, package_fill
from signals.engine.payoff import MULTIPLIER, Leg, probability_of_profit, risk_metrics
from signals.engine.strategies import ChainSide, build_legs, choose_strategy, leg_quotes
from signals.events import signal_created
from signals.messages import SIGNALS_GROUP, new_signal
from signals.models import ConfidenceModel, Signal, SignalCycle, SignalFeature, SignalStatus
from signals.outcome_fees import round_trip_fees

if TYPE_CHECKING:
    from marketdata.models import ChainSnapshot

logger = logging.getLogger(__name__)

#: Minutes of the session a signal needs behind it (the momentum windows reach 30).
MIN_SESSION_MINUTES = 5
SKEW_LOOKBACK = dt.timedelta(minutes=30)


def signal_expiry(session: dt.date) -> dt.datetime:
    """When a signal of ``session`` expires, which is also its time exit:
    ``SIGNAL_EXPIRY_MINUTES_BEFORE_CLOSE`` before the close (15:45 ET, 12:45 on early
    closes)."""
    return calendar.session_close_utc(session) - dt.timedelta(
        minutes=settings.SIGNAL_EXPIRY_MINUTES_BEFORE_CLOSE
    )


def is_generation_minute(at: MarketTime) -> bool:
    """A minute of the cadence: every ``SIGNAL_CADENCE_MINUTES`` from
    ``SIGNAL_FIRST_MINUTE`` after the open, while a new signal would still live."""
    first, cadence = settings.SIGNAL_FIRST_MINUTE, settings.SIGNAL_CADENCE_MINUTES
    return (
        at.is_open
        and at.minute >= first
        and (at.minute - first) % cadence == 0
        and at.now < signal_expiry(at.session)
    )


def is_live_clock(clock: str) -> bool:
    """The clocks users watch (live, replay); a model fit replays under its own name."""
    return clock in (CLOCK_LIVE, CLOCK_REPLAY)


def replay_loop_restart(at: MarketTime) -> int:
    """A replay that starts its session again (it repeats, or its anchor was reset) replays
    it afresh: the signals and cycle claims of that session's earlier loop are dropped, so
    its cadence generates again instead of finding every minute claimed. A loop is new when
    a cycle of a later minute of the session exists. Returns the signals dropped."""
    if at.clock != CLOCK_REPLAY:
        return 0
    earlier = SignalCycle.objects.filter(clock=at.clock, session=at.session)
    if not earlier.filter(minute__gt=at.minute).exists():
        return 0
    with transaction.atomic():
        dropped, _ = Signal.objects.filter(clock=at.clock, session=at.session).delete()
        earlier.delete()
    logger.info("signals: replay of %s restarted at minute %s", at.session, at.minute)
    return dropped


def outcome_definition(
    *,
    target_profit: float,
    stop_loss: float,
    time_exit: dt.datetime,
    round_trip_fees: float | None = None,
) -> dict[str, Any]:
    """What a signal's confidence predicts, stored with it."""
    return {
        "event": "target_before_stop_or_time_exit",
        "target_profit": target_profit,
        "stop_loss": stop_loss,
        "time_exit": utc_stamp(time_exit),
        "valued_at": "fill rule: leg-count slippage across the quoted spread"
        + (" (pessimistic: the whole spread)" if settings.FILL_PESSIMISTIC else ""),
        "fees": "none (no fee model registered)"
        if round_trip_fees is None
        else f"net of the round trip's fees, {round_trip_fees:.4f} dollars per package "
        "(the trading app's fee model at the entry prices and the suggested contracts)",
        "units": "option price units per package (x100 for dollars per contract)",
    }


def active_model() -> ConfidenceModel | None:
    return ConfidenceModel.objects.filter(is_active=True).first()


def _side(rows: Sequence[dict[str, Any]]) -> ChainSide:
    return ChainSide(
        strikes=[r["strike"] for r in rows],
        delta=[r["delta"] for r in rows],
        bid=[r["bid"] for r in rows],
        ask=[r["ask"] for r in rows],
    )


def _skew(calls: Sequence[dict[str, Any]], puts: Sequence[dict[str, Any]]) -> float:
    if not calls or not puts:
        return float("nan")
    return skew_25_delta(
        [c["delta"] for c in calls],
        [c["implied_volatility"] for c in calls],
        [p["delta"] for p in puts],
        [p["implied_volatility"] for p in puts],
    )


def _return_30m(bars: SessionMinutes) -> float:
    closes = bars.close
    return float(np.log(closes[-1] / closes[-31])) if closes.size > 30 else float("nan")


def _round(x: float | None, places: int = 4) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), places)


@dataclass(frozen=True)
class _Market:
    """What one cycle reads once for all tickers."""

    bars: dict[str, SessionMinutes]
    correlation: dict[str, Any]
    vix: tuple[float | None, dt.datetime | None]  # the level at ``at`` and its minute
    existing: dict[str, Signal]  # the tickers' signals already stored at this minute
    past_volume: dict[str, dict[dt.date, int]]  # volume by this minute in past sessions


def _read_market(at: MarketTime, symbols: Sequence[str]) -> _Market:
    bars = {s: session_minute_bars(s, at) for s in ZERO_DTE_TICKERS}
    existing = Signal.objects.filter(
        clock=at.clock, session=at.session, minute=at.minute, symbol__in=list(symbols)
    )
    vix = vix_level(at)
    return _Market(
        bars=bars,
        correlation=market_correlation(at, vix=vix),
        vix=vix,
        existing={signal.symbol: signal for signal in existing},
        past_volume=past_volume_by_minute(
            symbols, at, sessions=settings.MARKET_MINUTE_HISTORY_SESSIONS
        ),
    )


def _last_price(bars: SessionMinutes) -> LastPrice | None:
    """``selectors.last_price`` of an open session from its minutes already read: the last
    completed minute's close, stamped at its end (None without a minute)."""
    if not bars.timestamps or not np.isfinite(bars.close[-1]):
        return None
    close = Decimal(str(bars.close[-1]))
    return LastPrice(close, bars.timestamps[-1] + dt.timedelta(minutes=1), None, [])


def _features(
    symbol: str,
    at: MarketTime,
    market: _Market,
    chain: dict[str, Any],
    before: ChainSnapshot | None,
) -> dict[str, float]:
    bars = market.bars[symbol]
    past = market.past_volume[symbol]
    divergence = market.correlation["divergence_zscore"]
    regime = market.correlation["regime_adjustments"] or {}
    return feature_scores(
        FeatureInputs(
            high=bars.high,
            low=bars.low,
            close=bars.close,
            volume=bars.volume,
            past_volume_same_minute=list(past.values()),
            other_returns_30m=[
                _return_30m(market.bars[s]) for s in ZERO_DTE_TICKERS if s != symbol
            ],
            skew_now=_skew(chain["calls"], chain["puts"]),
            skew_before=_skew(before.calls, before.puts) if before else float("nan"),
            divergence_z=[
                z if z is not None else float("nan")
                for pair, z in divergence.items()
                if symbol in pair.split("_")
            ],
            adaptation_factor=float(regime.get("adaptation_factor", 1.0)),
        )
    )


def _entry(
    legs: list[Leg], chain: dict[str, Any], regime: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]], float, list[str]] | None:
    """Price the package; None where a leg has no fillable quote."""
    calls, puts = _side(chain["calls"]), _side(chain["puts"])
    bids, asks = leg_quotes(legs, calls, puts)
    actions = [leg.action for leg in legs]
    try:
        fills, net = package_fill(
            actions, list(bids), list(asks), pessimistic=settings.FILL_PESSIMISTIC
        )
    except UnfillableQuote as exc:
        logger.info("signals: no fill for %s: %s", legs, exc)
        return None
    warnings: list[str] = []
    metrics = risk_metrics(legs, fills)
    # Capital at risk per share: the debit of a debit package, the max loss of a credit one.
    at_risk = metrics.max_loss / MULTIPLIER
    profit_target = settings.TRADING_DEFAULT_PROFIT_TARGET
    stop_fraction = settings.TRADING_DEFAULT_STOP_LOSS * float(
        regime.get("stop_loss_tightening", 1.0)
    )
    entry = {
        "long_strike": min((g.strike for g in legs if g.action == "buy"), default=None),
        "short_strike": min((g.strike for g in legs if g.action == "sell"), default=None),
        "max_cost": round(at_risk, 2),
        "target_profit": round(profit_target * at_risk, 4),
        "stop_loss": round(stop_fraction * at_risk, 4),
        "net_price": round(net, 4),
        "order_type": "debit" if net >= 0 else "credit",
        "profit_target_fraction": profit_target,
        "stop_loss_fraction": round(stop_fraction, 6),
        "position_size": settings.TRADING_DEFAULT_POSITION_SIZE,
        "contracts": int(settings.TRADING_DEFAULT_POSITION_SIZE // metrics.max_loss)
        if metrics.max_loss > 0
        else None,
    }
    # The outcome is net of the round trip's fees at the suggested size (outcome_fees).
    fees = round_trip_fees(
        [(leg.action, leg.quantity, float(fill)) for leg, fill in zip(legs, fills, strict=True)],
        entry["contracts"],
    )
    entry["round_trip_fees"] = None if fees is None else round(fees, 4)
    strikes = [r["strike"] for r in chain["puts"]]
    put_mids = [r["mid"] for r in chain["puts"]]
    t_years = float(chain["minutes_to_expiration"]) / 525_600.0
    pop = probability_of_profit(legs, fills, strikes, put_mids, float(chain["rate"]), t_years)
    if pop is None:
        warnings.append("the chain is too short for an implied distribution: no probability_profit")
    if metrics.max_profit is None:
        warnings.append("max_profit is unlimited (null)")
    risk = {
        "max_loss": round(metrics.max_loss, 2),
        "max_profit": None if metrics.max_profit is None else round(metrics.max_profit, 2),
        "probability_profit": _round(pop, 4),
        "break_even": metrics.break_evens[0] if metrics.break_evens else None,
        "break_evens": list(metrics.break_evens),
        "unlimited_profit": metrics.unlimited_profit,
        "probability_basis": "risk-neutral, from the chain's put prices (Breeden-Litzenberger)",
    }
    leg_rows = [
        {
            "action": leg.action,
            "option_type": leg.option_type,
            "strike": leg.strike,
            "quantity": leg.quantity,
            # The quote side the leg trades against: a buy at the ask, a sell at the bid.
            "estimated_price": float(asks[i] if leg.action == "buy" else bids[i]),
            "bid": float(bids[i]),
            "ask": float(asks[i]),
            "fill_price": fills[i],
            "expiration": chain["expiration"].isoformat(),
        }
        for i, leg in enumerate(legs)
    ]
    return entry, risk, leg_rows, net, warnings


def _announce(signal: Signal) -> None:
    """A committed new signal: to the ``/ws/signals`` sockets, then to the apps that follow
    ``signal_created`` (auto-execute)."""
    publish(SIGNALS_GROUP, new_signal(signal))
    signal_created.send(sender=Signal, created=signal)


def _supersede(symbol: str, clock: str, before: dt.datetime) -> None:
    Signal.objects.filter(
        symbol=symbol, clock=clock, status=SignalStatus.ACTIVE, generated_at__lt=before
    ).update(status=SignalStatus.SUPERSEDED)


def _signal_for(
    symbol: str,
    at: MarketTime,
    market: _Market,
    chain: dict[str, Any],
    before: ChainSnapshot | None,
    model: ConfidenceModel | None,
    trigger: str,
) -> tuple[Signal | None, bool, list[str]]:
    """(signal, created, warnings) of ``symbol`` at ``at``, from its chain now and its
    snapshot ``SKEW_LOOKBACK`` before."""
    if not chain["calls"]:
        return None, False, [f"{symbol}: no chain: {'; '.join(chain['warnings'])}"]
    scores = _features(symbol, at, market, chain, before)
    direction = direction_score(scores)
    threshold = settings.SIGNAL_DIRECTION_THRESHOLD
    signal_type = (
        "bullish" if direction > threshold else "bearish" if direction < -threshold else "neutral"
    )
    regime = market.correlation["regime_adjustments"] or {}
    strategy = choose_strategy(signal_type, regime.get("regime_type"))
    legs = build_legs(
        strategy, float(chain["underlying_price"]), _side(chain["calls"]), _side(chain["puts"])
    )
    priced = _entry(legs, chain, regime) if legs else None
    if priced is None:
        return None, False, [f"{symbol}: no fillable {strategy} on the chain at {at.now:%H:%M} UTC"]
    entry, risk, leg_rows, _, warnings = priced
    warnings = [*chain["warnings"], *warnings]  # e.g. IWM's nearest expiry on a day it lists none
    sign = 1 if signal_type == "bullish" else -1 if signal_type == "bearish" else 0
    inputs = aligned_inputs(scores, strategy=strategy, direction=sign)
    family = STRATEGY_FAMILY[strategy]
    if model is not None:
        coefficients = model.families[family]
        weights = {name: float(coefficients["weights"].get(name, 0.0)) for name in FEATURE_NAMES}
        confidence = probability(float(coefficients["intercept"]), weights, inputs)
    else:
        weights = dict.fromkeys(FEATURE_NAMES, 0.0)
        confidence = None
        warnings.append("no confidence model is fitted: run manage.py fit_signal_model")
    expires = signal_expiry(at.session)
    vix = market.correlation["vix_level"]
    try:
        with transaction.atomic():
            signal = Signal.objects.create(
                symbol=symbol,
                clock=at.clock,
                session=at.session,
                minute=at.minute,
                generated_at=at.now,
                expires_at=expires,
                trigger=trigger,
                signal_type=signal_type,
                strategy=strategy,
                direction_score=round(direction, 6),
                confidence=None if confidence is None else round(confidence, 6),
                model=model,
                underlying_price=Decimal(str(chain["underlying_price"])),
                expiration=chain["expiration"],
                regime={
                    "vix_level": vix,
                    "regime_type": regime.get("regime_type"),
                    "adaptation_factor": regime.get("adaptation_factor"),
                    "position_size_multiplier": regime.get("position_size_multiplier"),
                    "confidence_threshold_bump": regime.get("confidence_threshold_bump"),
                    "stop_loss_tightening": regime.get("stop_loss_tightening"),
                },
                entry_criteria=entry,
                risk_metrics=risk,
                legs=leg_rows,
                outcome_definition=outcome_definition(
                    target_profit=entry["target_profit"],
                    stop_loss=entry["stop_loss"],
                    time_exit=expires,
                    round_trip_fees=entry.get("round_trip_fees"),
                ),
                warnings=warnings,
                source=chain["source"],
            )
            SignalFeature.objects.bulk_create(
                SignalFeature(
                    signal=signal,
                    name=name,
                    category=FEATURE_CATEGORY[name],
                    value=round(inputs[name], 12),
                    weight=weights[name],
                    score=_round(scores[name], 12),
                )
                for name in FEATURE_NAMES
            )
            _supersede(symbol, at.clock, at.now)
            if is_live_clock(at.clock):
                transaction.on_commit(lambda: _announce(signal))
    except IntegrityError:  # a concurrent generation of the same minute won
        return (
            Signal.objects.get(clock=at.clock, session=at.session, minute=at.minute, symbol=symbol),
            False,
            [],
        )
    return signal, True, []


def signals_generate(
    *, at: MarketTime, symbols: Sequence[str] = ZERO_DTE_TICKERS, trigger: str = "manual"
) -> tuple[list[Signal], list[str]]:
    """The signals of ``symbols`` at market time ``at`` (module docstring) and the reasons
    for any ticker without one. A closed market generates nothing."""
    if not at.is_open:
        return [], [f"market closed: no signals are generated (session {at.session})"]
    market = _read_market(at, symbols)
    found: dict[str, Signal] = dict(market.existing)
    warnings: list[str] = []
    pending = []
    for symbol in symbols:
        stored = market.bars[symbol].close.size
        if symbol in market.existing:
            continue
        if stored < MIN_SESSION_MINUTES:
            warnings.append(
                f"{symbol}: {stored} minutes stored, a signal needs {MIN_SESSION_MINUTES}"
            )
        else:
            pending.append(symbol)
    if not pending:
        return [found[s] for s in symbols if s in found], warnings
    latest = {s: price for s in pending if (price := _last_price(market.bars[s])) is not None}
    chains = option_chains(
        pending, at, strikes=settings.SIGNAL_CHAIN_STRIKES, vix=market.vix, latest=latest
    )
    before = chain_snapshots_at(pending, at.now - SKEW_LOOKBACK)
    model = active_model()
    for symbol in pending:
        signal, _, reasons = _signal_for(
            symbol, at, market, chains[symbol], before.get(symbol), model, trigger
        )
        warnings.extend(reasons)
        if signal is not None:
            found[symbol] = signal
    return [found[s] for s in symbols if s in found], warnings


# --------------------------------------------------------------------------- outcomes


def _closing_values(signal: Signal, snapshots: list[Any]) -> tuple[list[dt.datetime], np.ndarray]:
    """The package's closing value (signed cash per share at the fill rule) at each
    snapshot; NaN where a leg is not quoted or not fillable. A long leg bid at 0.00 (a
    0DTE wing nobody bids) is worth nothing and is left to expire rather than sold, as a
    trader would; the other legs close at the package's leg-count slippage."""
    stamps, values = [], []
    for stamp, calls, puts in snapshots:
        actions, bids, asks = [], [], []
        for leg in signal.legs:
            side = calls if leg["option_type"] == "call" else puts
            row = next((r for r in side if abs(r["strike"] - leg["strike"]) < 1e-9), None)
            bid, ask = (row["bid"], row["ask"]) if row else (float("nan"), float("nan"))
            if leg["action"] == "buy" and bid == 0:
                continue  # abandoned: worth 0
            actions.append(leg["action"])
            bids.append(bid)
            asks.append(ask)
        try:
            value = (
                liquidation_value(actions, bids, asks, pessimistic=settings.FILL_PESSIMISTIC)
                if actions
                else 0.0
            )
        except UnfillableQuote:
            value = float("nan")
        stamps.append(stamp)
        values.append(value)
    return stamps, np.asarray(values, dtype=np.float64)


def signal_outcome_resolve(*, signal: Signal, now: dt.datetime) -> bool:
    """Resolve ``signal``'s outcome from the stored chain snapshots up to ``now`` (market
    time): the target or the stop reached, or, once ``now`` is past the time exit, the
    time exit. Returns True once resolved (stored), False while still open."""
    end = min(now, signal.expires_at)
    snapshots = chain_snapshots_between(signal.symbol, signal.expiration, signal.generated_at, end)
    stamps, values = _closing_values(signal, snapshots)
    # Net of fees: the round trip's fees per package (dollars, outcome_fees) raise the
    # entry's cost per share, so every minute's P&L is net of them.
    fees = signal.entry_criteria.get("round_trip_fees") or 0.0
    entry_net = float(signal.entry_criteria["net_price"]) + float(fees) / MULTIPLIER
    exit_index = len(values) - 1
    outcome = first_exit(
        entry_net,
        values,
        target_profit=float(signal.entry_criteria["target_profit"]),
        stop_loss=float(signal.entry_criteria["stop_loss"]),
        time_exit_index=max(exit_index, 0),
    )
    if outcome.reason in ("time", "no_data") and now < signal.expires_at:
        return False  # still running
    signal.outcome_hit = outcome.reason == "target"
    signal.outcome_reason = outcome.reason
    signal.outcome_pnl = outcome.pnl
    signal.outcome_at = stamps[outcome.index] if outcome.index is not None else signal.expires_at
    signal.save(update_fields=["outcome_hit", "outcome_reason", "outcome_pnl", "outcome_at"])
    return True


def signals_resolve_due(*, now: dt.datetime) -> int:
    """Resolve every unresolved signal generated before ``now`` whose outcome is known."""
    resolved = 0
    for signal in Signal.objects.filter(outcome_reason="", generated_at__lt=now).order_by(
        "generated_at"
    ):
        resolved += signal_outcome_resolve(signal=signal, now=now)
    return resolved


# --------------------------------------------------------------------------- the model


def training_rows(
    signals: Sequence[Signal],
) -> dict[str, tuple[list[list[float]], list[int], list[str]]]:
    """By strategy family: the stored model inputs (x) and outcomes (y) of resolved
    signals, with their ids."""
    rows: dict[str, tuple[list[list[float]], list[int], list[str]]] = {
        f: ([], [], []) for f in FAMILIES
    }
    for signal in signals:
        if signal.outcome_hit is None:
            continue
        values = {f.name: f.value for f in signal.features.all()}
        x, y, ids = rows[STRATEGY_FAMILY[signal.strategy]]
        x.append([values.get(name, 0.0) for name in FEATURE_NAMES])
        y.append(int(signal.outcome_hit))
        ids.append(signal.id)
    return rows


def confidence_model_fit(
    *, signals: Sequence[Signal], sessions: Sequence[dt.date], l2: float, activate: bool
) -> ConfidenceModel:
    """Fit one coefficient set per strategy family on the resolved ``signals`` and store
    it as a new version (active if ``activate``). The version names the fit's content."""
    families: dict[str, Any] = {}
    training: dict[str, Any] = {
        "sessions": [d.isoformat() for d in sessions],
        "l2": l2,
        "families": {},
    }
    for family, (x, y, _) in training_rows(signals).items():
        intercept, weights = fit_logistic(
            np.asarray(x, dtype=np.float64).reshape(len(x), len(FEATURE_NAMES)),
            y,
            l2=l2,
            names=FEATURE_NAMES,
        )
        families[family] = {"intercept": intercept, "weights": weights}
        fitted = [
            probability(intercept, weights, dict(zip(FEATURE_NAMES, row, strict=True))) for row in x
        ]
        base_rate = (sum(y) / len(y)) if y else None
        training["families"][family] = {
            "samples": len(y),
            "hits": int(sum(y)),
            "base_rate": base_rate,
            "brier": round(brier_score(fitted, y), 6) if y else None,
            "brier_base_rate": round(brier_score([base_rate] * len(y), y), 6) if y else None,
        }
    digest = hashlib.sha256(json.dumps(families, sort_keys=True).encode()).hexdigest()[:8]
    first = sessions[0] if sessions else timezone.now().date()
    last = sessions[-1] if sessions else first
    version = f"logit-{first:%Y%m%d}-{last:%Y%m%d}-{digest}"
    with transaction.atomic():
        if activate:
            ConfidenceModel.objects.filter(is_active=True).update(is_active=False)
        model, _ = ConfidenceModel.objects.update_or_create(
            version=version,
            defaults={
                "families": families,
                "feature_names": list(FEATURE_NAMES),
                "outcome_definition": {
                    "event": "target_before_stop_or_time_exit",
                    "profit_target_fraction": settings.TRADING_DEFAULT_PROFIT_TARGET,
                    "stop_loss_fraction": settings.TRADING_DEFAULT_STOP_LOSS,
                    "time_exit_minutes_before_close": settings.SIGNAL_EXPIRY_MINUTES_BEFORE_CLOSE,
                    "valued_at": "fill rule",
                },
                "training": training,
                "fitted_at": timezone.now(),
                "is_active": activate,
            },
        )
    return model


def confidence_model_load(data: dict[str, Any], *, activate: bool) -> ConfidenceModel:
    """Store a version exported by ``fit_signal_model --export`` (the shipped default)."""
    with transaction.atomic():
        if activate:
            ConfidenceModel.objects.filter(is_active=True).update(is_active=False)
        model, _ = ConfidenceModel.objects.update_or_create(
            version=data["version"],
            defaults={
                "families": data["families"],
                "feature_names": data["feature_names"],
                "outcome_definition": data["outcome_definition"],
                "training": data.get("training", {}),
                "fitted_at": dt.datetime.fromisoformat(data["fitted_at"]),
                "is_active": activate,
            },
        )
    return model


def signal_confidence(signal: Signal, model: ConfidenceModel) -> float:
    """``signal``'s confidence under ``model``, from its stored model inputs: the same
    logistic function the signal was scored with (``signals.engine.confidence``)."""
    coefficients = model.families[STRATEGY_FAMILY[signal.strategy]]
    inputs = {f.name: f.value for f in signal.features.all()}
    return probability(float(coefficients["intercept"]), coefficients["weights"], inputs)


def calibration_of(
    *, signals: Sequence[Signal], model: ConfidenceModel, sessions: Sequence[dt.date]
) -> tuple[CalibrationReport, list[str]]:
    """The calibration of ``model`` on the resolved ``signals``, rescored with it from
    their stored inputs, and notes on how far the figures can be trusted."""
    resolved = [s for s in signals if s.outcome_hit is not None]
    confidences = [signal_confidence(s, model) for s in resolved]
    outcomes = [int(bool(s.outcome_hit)) for s in resolved]
    report = calibration_report(confidences, outcomes)
    notes: list[str] = []
    trained = set(model.training.get("sessions", []))
    overlap = sorted(d.isoformat() for d in sessions if d.isoformat() in trained)
    if overlap:
        notes.append(
            f"{len(overlap)} of the {len(sessions)} sessions were in the model's training set: "
            "those figures are in-sample"
        )
    if report.count and report.resolution is not None and report.uncertainty:
        share = report.resolution / report.uncertainty
        notes.append(
            f"resolution is {share:.1%} of the uncertainty: "
            + (
                "the model separates hits from misses little better than the base rate"
                if share < 0.05
                else "the model has some resolution"
            )
            + " (the simulated market has no edge to find by construction)"
        )
    if report.count < 100:
        notes.append(f"only {report.count} resolved signals: the bucket intervals are wide")
    return report, notes
