"""Brokers: who executes a user's orders in each trading mode.

The paper broker (fills from the stored quotes by the fill rule of
``signals.engine.fills``) is the one implementation; a live broker (an Alpaca or IBKR
adapter) plugs in by registering under a name and naming it in ``TRADING_LIVE_BROKER``.
Until one is configured, live mode is refused (``LiveTradingUnavailable``). The order
methods of the interface arrive with ``POST /trading/execute``.
"""

from __future__ import annotations

from typing import Protocol

from django.conf import settings

from sigmasight.errors import LiveTradingUnavailable

__all__ = ["PAPER", "Broker", "PaperBroker", "broker_for", "live_broker_name", "register_broker"]

PAPER = "paper"


class Broker(Protocol):
    """What the trading services need of a broker (extended with the order methods)."""

    name: str
    is_live: bool


class PaperBroker:
    """Simulated execution against the stored quotes: no money leaves the ledger."""

    name = PAPER
    is_live = False


_BROKERS: dict[str, Broker] = {PAPER: PaperBroker()}


def register_broker(broker: Broker) -> None:
    """Make ``broker`` available under its name (a live adapter registers itself from its
    app's ``ready()``; tests register fakes)."""
    _BROKERS[broker.name] = broker


def live_broker_name() -> str | None:
    """The configured live broker, if it is registered and live; else None."""
    name = str(getattr(settings, "TRADING_LIVE_BROKER", "") or "")
    broker = _BROKERS.get(name)
    return name if broker is not None and broker.is_live else None


def broker_for(mode: str) -> Broker:
    """The broker that executes in ``mode`` (``paper`` or ``live``)."""
    if mode == PAPER:
        return _BROKERS[PAPER]
    name = live_broker_name()
    if name is None:
        raise LiveTradingUnavailable(
            "Live trading needs a configured broker (TRADING_LIVE_BROKER); none is",
            details={"field": "trading_mode", "trading_mode": mode, "available_modes": [PAPER]},
        )
    return _BROKERS[name]
