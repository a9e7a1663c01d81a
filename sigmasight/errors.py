"""Domain errors: what went wrong, in the domain's words, without HTTP.

Services and selectors raise these; they know nothing of status codes. The API's one
exception handler (``sigmasight.api.errors.exception_handler``) maps each ``code`` to an
HTTP status and the error envelope, a management command prints the message, a job
records it. Each error is defined once, here, so that every app raises the same class
(a ``PortfolioNotFound`` from the risk reports is the one the portfolio views raise).

Pure Python: no Django, so engines-adjacent modules (providers, calendars) may raise
them too.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A failure a caller can act on. ``code`` names it (the envelope's ``error.code``)."""

    code: str = "BAD_REQUEST"
    default_message: str = "Bad request"

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None):
        self.message = message or self.default_message
        self.details = details or {}
        super().__init__(self.message)


class NotFound(DomainError):
    """The object does not exist, or belongs to someone else (never said which)."""

    code = "NOT_FOUND"
    default_message = "Not found"


class PortfolioNotFound(NotFound):
    default_message = "Portfolio not found"


class PositionNotFound(NotFound):
    default_message = "Position not found"


class JobNotFound(NotFound):
    default_message = "Batch job not found"


class ReportNotFound(NotFound):
    default_message = "Report not found"


class Gone(DomainError):
    """The object existed but is no longer available (an expired report file)."""

    code = "GONE"
    default_message = "Gone"


class Conflict(DomainError):
    """The request is valid but clashes with the current state (a closed position, a
    finished job, an existing email)."""

    code = "CONFLICT"
    default_message = "Conflict"


class InvalidSymbol(DomainError):
    code = "INVALID_SYMBOL"
    default_message = "The specified symbol is not supported"


class SignalNotFound(NotFound):
    default_message = "Signal not found"


class StrategyPositionNotFound(NotFound):
    default_message = "Position not found"


class TradingAccountNotFound(NotFound):
    default_message = "Trading account not found"


class InvalidStrategy(DomainError):
    """A strategy name outside the six of API-CONVENTIONS."""

    code = "INVALID_STRATEGY"


class InsufficientFunds(DomainError):
    """A cash outflow beyond the portfolio's cash balance."""

    code = "INSUFFICIENT_FUNDS"
    default_message = "Insufficient funds"


class LiveTradingUnavailable(DomainError):
    """Live trading asked for where no live broker is configured."""

    code = "LIVE_TRADING_UNAVAILABLE"
    default_message = "Live trading is not available: no broker is configured"


class SignalExpired(DomainError):
    """The signal is superseded, past its expiry, or of another session or clock."""

    code = "SIGNAL_EXPIRED"
    default_message = "The signal is no longer active"


class MarketClosed(DomainError):
    code = "MARKET_CLOSED"
    default_message = "The market is closed"


class PositionLimitExceeded(DomainError):
    code = "POSITION_LIMIT_EXCEEDED"
    default_message = "Too many open positions"


class DailyLossLimitExceeded(DomainError):
    code = "DAILY_LOSS_LIMIT_EXCEEDED"
    default_message = "The day's loss has reached the daily loss limit"


class EmergencyHaltActive(DomainError):
    code = "EMERGENCY_HALT_ACTIVE"
    default_message = "Trading is halted on this account"


class OrderRejected(DomainError):
    """The broker cannot fill the package (a leg without a fillable, fresh quote)."""

    code = "ORDER_REJECTED"
    default_message = "The order was rejected"


class DataUnavailable(DomainError):
    code = "DATA_UNAVAILABLE"
    default_message = "Market data temporarily unavailable"


class ValidationFailed(DomainError):
    """Field errors found by a service (after the input's shape was accepted).

    ``errors`` maps a field name to its messages; ``location`` is where the fields came
    from (``body`` or ``query``).
    """

    code = "VALIDATION_ERROR"
    default_message = "Validation error"

    def __init__(self, errors: dict[str, Any], *, location: str = "body"):
        self.errors = errors
        self.location = location
        super().__init__("Validation error", details={})


class TransientFailure(Exception):
    """A failure that may pass if the work is tried again later (a provider outage, a
    rate limit): job runners retry it with backoff instead of failing at once."""
