"""Reads of the signals app: the active signals, one signal, and the payloads the API
and the calibration report show. Signals are market-wide: every authenticated user reads
the same ones (API-CONVENTIONS)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet

from marketdata.clock import MarketTime
from sigmasight.errors import InvalidStrategy, SignalNotFound
from signals.engine.confidence import STRATEGY_FAMILY
from signals.engine.strategies import STRATEGIES
from signals.models import Signal, SignalStatus

#: The category of each feature in the spec's ``analysis`` block.
ANALYSIS_GROUPS = {
    "price_momentum": ("momentum_5m", "momentum_15m", "momentum_30m", "vwap_deviation"),
    "volume_profile": ("relative_volume",),
    "volatility_skew": ("skew_change",),
    "cross_ticker_strength": ("cross_ticker_strength",),
    "divergence_score": ("divergence",),
}


def strategy_name(text: str) -> str:
    """``text`` as one of the six strategies, or 422 ``INVALID_STRATEGY``."""
    name = str(text).strip().lower()
    if name not in STRATEGIES:
        raise InvalidStrategy(
            f"{str(text)[:40]!r} is not a strategy: use one of {', '.join(STRATEGIES)}",
            details={"strategy_type": str(text)[:40], "supported_strategies": list(STRATEGIES)},
        )
    return name


def active_signals(
    at: MarketTime,
    *,
    symbol: str | None = None,
    confidence_min: float | None = None,
    strategy_type: str | None = None,
) -> QuerySet[Signal]:
    """The clock's signals that are still active at ``at``: not superseded by a newer
    signal of the ticker and not expired, newest first."""
    rows = Signal.objects.filter(
        clock=at.clock, status=SignalStatus.ACTIVE, generated_at__lte=at.now, expires_at__gt=at.now
    )
    if symbol is not None:
        rows = rows.filter(symbol=symbol)
    if confidence_min is not None:
        rows = rows.filter(confidence__gte=confidence_min)
    if strategy_type is not None:
        rows = rows.filter(strategy=strategy_type)
    return rows.order_by("-generated_at", "symbol")


def signals_between(
    *, clock: str, start: dt.date, end: dt.date, symbol: str | None = None
) -> list[Signal]:
    """The ``clock``'s signals generated in the sessions ``start`` to ``end`` (every
    status), ``symbol``'s only if given, oldest first. One query."""
    rows = Signal.objects.filter(clock=clock, session__gte=start, session__lte=end)
    if symbol is not None:
        rows = rows.filter(symbol=symbol)
    return list(rows.order_by("generated_at", "symbol"))


def signal_get(signal_id: str, *, with_features: bool = True) -> Signal:
    """One signal with its model (and its features, unless ``with_features`` is False:
    an execution reads only the legs), or SignalNotFound."""
    rows = Signal.objects.select_related("model")
    if with_features:
        rows = rows.prefetch_related("features")
    signal = rows.filter(pk=signal_id).first()
    if signal is None:
        raise SignalNotFound()
    return signal


def signal_summary(signal: Signal) -> dict[str, Any]:
    """The keys of the spec's ``/signals/active`` example, plus the added ones."""
    return {
        "id": signal.id,
        "symbol": signal.symbol,
        "signal_type": signal.signal_type,
        "strategy": signal.strategy,
        "confidence": signal.confidence,
        "generated_at": signal.generated_at,
        "expires_at": signal.expires_at,
        "status": signal.status,
        "entry_criteria": signal.entry_criteria,
        "risk_metrics": signal.risk_metrics,
        "underlying_price": signal.underlying_price,
        "expiration": signal.expiration,
        "model_version": signal.model_id,
        "clock": signal.clock,
        "session": signal.session,
        "source": signal.source,
        "warnings": list(signal.warnings),
    }


def _group_score(features: dict[str, Any], names: Sequence[str]) -> float | None:
    values = [features[n].value for n in names if n in features and features[n].score is not None]
    return round(sum(values) / len(values), 4) if values else None


def signal_detail(signal: Signal) -> dict[str, Any]:
    """``/signals/{id}``: the summary, the ``analysis`` block from the stored features
    (each category's mean aligned input), every feature with its weight, the model and
    outcome definition, the ``execution_plan`` legs and, once known, the outcome."""
    features = {f.name: f for f in signal.features.all()}
    groups = {key: _group_score(features, names) for key, names in ANALYSIS_GROUPS.items()}
    regime = signal.regime
    model = signal.model
    return {
        **signal_summary(signal),
        "direction_score": signal.direction_score,
        "analysis": {
            "technical_factors": {
                "price_momentum": groups["price_momentum"],
                "volume_profile": groups["volume_profile"],
                "volatility_skew": groups["volatility_skew"],
            },
            "correlation_factors": {
                "cross_ticker_strength": groups["cross_ticker_strength"],
                "divergence_score": groups["divergence_score"],
            },
            "market_regime": {
                "vix_level": regime.get("vix_level"),
                "regime_type": regime.get("regime_type"),
                "adaptation_factor": regime.get("adaptation_factor"),
                "position_size_multiplier": regime.get("position_size_multiplier"),
                "confidence_threshold_bump": regime.get("confidence_threshold_bump"),
                "stop_loss_tightening": regime.get("stop_loss_tightening"),
            },
            "features": [
                {
                    "name": f.name,
                    "category": f.category,
                    "value": f.value,
                    "weight": f.weight,
                    "score": f.score,
                }
                for f in sorted(features.values(), key=lambda f: f.name)
            ],
        },
        "model": {
            "version": model.version if model else None,
            "intercept": model.families[_family(signal)]["intercept"] if model else None,
            "family": _family(signal),
        },
        "outcome_definition": signal.outcome_definition,
        "execution_plan": {"legs": signal.legs},
        "outcome": {
            "hit": signal.outcome_hit,
            "reason": signal.outcome_reason or None,
            "pnl": signal.outcome_pnl,
            "resolved_at": signal.outcome_at,
        },
    }


def _family(signal: Signal) -> str:
    return STRATEGY_FAMILY[signal.strategy]
