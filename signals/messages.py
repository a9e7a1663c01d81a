"""The live messages of ``/ws/signals``: their group and the spec's ``new_signal``
envelope, shared by the service that publishes them and the consumer."""

from __future__ import annotations

from typing import Any

from sigmasight.timefmt import utc_stamp
from signals.models import Signal

SIGNALS_GROUP = "signals"


def new_signal(signal: Signal) -> dict[str, Any]:
    """``{"type": "new_signal", "data": {id, symbol, confidence, strategy, generated_at}}``
    plus the signal type, expiry and clock (added keys)."""
    return {
        "type": "new_signal",
        "data": {
            "id": signal.id,
            "symbol": signal.symbol,
            "confidence": signal.confidence,
            "strategy": signal.strategy,
            "generated_at": utc_stamp(signal.generated_at),
            "signal_type": signal.signal_type,
            "expires_at": utc_stamp(signal.expires_at),
            "clock": signal.clock,
        },
    }
