"""Input (query) and output serializers of the market-data endpoints.

Output numbers are JSON numbers: prices rounded to 4 places, money to cents. Each field's
help text states its unit: percent (0.34 = 0.34%) or fraction (0.0953 = 9.53%).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from marketdata import calendar
from sigmasight.api.fields import Money, Price

MAX_QUOTE_SYMBOLS = 100
MAX_HISTORY_DAYS = 10_000
MAX_ETF_DAYS = 366
#: Dates outside this span are rejected: they cannot be sessions, and arithmetic on them
#: (``end - days``) could leave the range of ``datetime.date``.
MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2100, 12, 31)


class RoundedFloatField(serializers.FloatField):
    """A float rounded to ``places`` decimals on output."""

    def __init__(self, *, places: int, **kwargs: Any) -> None:
        self.places = places
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> float:
        return round(float(value), self.places)


def _split_symbols(value: str) -> list[str]:
    return list(dict.fromkeys(p.strip() for p in value.split(",") if p.strip()))


def _check_date(value: dt.date) -> dt.date:
    if not MIN_DATE <= value <= MAX_DATE:
        raise serializers.ValidationError(f"Dates must lie between {MIN_DATE} and {MAX_DATE}.")
    return value


# --------------------------------------------------------------------------- input


class HistoricalQuerySerializer(serializers.Serializer):
    """``days`` back from ``end_date`` unless ``start_date`` is given; ``end_date`` defaults
    to today (New York)."""

    days = serializers.IntegerField(
        min_value=1,
        max_value=MAX_HISTORY_DAYS,
        default=30,
        help_text="Calendar days of history ending at end_date (ignored when start_date is set).",
    )
    start_date = serializers.DateField(
        required=False, validators=[_check_date], help_text="First date, YYYY-MM-DD."
    )
    end_date = serializers.DateField(
        required=False,
        validators=[_check_date],
        help_text="Last date, YYYY-MM-DD (default: today in New York).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        end = attrs.get("end_date") or timezone.now().astimezone(calendar.EASTERN).date()
        start = attrs.get("start_date") or end - dt.timedelta(days=attrs["days"])
        if end < start:
            raise serializers.ValidationError(
                {"end_date": ["end_date must be on or after start_date."]}
            )
        return {"start": start, "end": end}


class QuotesQuerySerializer(serializers.Serializer):
    symbols = serializers.CharField(
        max_length=4000,
        help_text=f"Comma-separated symbols (at most {MAX_QUOTE_SYMBOLS}); OCC option "
        "symbols are accepted, e.g. SPY240920C00550000.",
        error_messages={"required": "field required", "blank": "field required"},
    )

    def validate_symbols(self, value: str) -> list[str]:
        symbols = _split_symbols(value)
        if not symbols:
            raise serializers.ValidationError("field required")
        if len(symbols) > MAX_QUOTE_SYMBOLS:
            raise serializers.ValidationError(
                f"At most {MAX_QUOTE_SYMBOLS} symbols per request, got {len(symbols)}."
            )
        return symbols


class FactorETFQuerySerializer(serializers.Serializer):
    symbols = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=1000,
        help_text="Comma-separated factor ETF symbols (default: every active factor's ETF).",
    )
    days = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ETF_DAYS,
        default=5,
        help_text="Calendar days of closes up to each ETF's price date.",
    )

    def validate_symbols(self, value: str) -> list[str]:
        return _split_symbols(value)


# --------------------------------------------------------------------------- output


class PriceBarSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="Session date.")
    open = Price(
        help_text="Open, dollars per share (null where the source has closes only).",
        allow_null=True,
    )
    high = Price(help_text="High, dollars per share.", allow_null=True)
    low = Price(help_text="Low, dollars per share.", allow_null=True)
    close = Price(help_text="Raw (as traded) close, dollars per share.", allow_null=True)
    volume = serializers.IntegerField(allow_null=True, help_text="Shares (contracts for options).")
    adjusted_close = Price(
        help_text="Split- and dividend-adjusted close, dollars.",
        allow_null=True,
        source="adj_close",
    )


class HistoryStatisticsSerializer(serializers.Serializer):
    period_return = RoundedFloatField(
        places=6, allow_null=True, help_text="Last/first adjusted close − 1, a fraction."
    )
    volatility = RoundedFloatField(
        places=6,
        allow_null=True,
        help_text="Annualized (×√252) stdev of daily simple returns, a fraction.",
    )
    max_price = Price(help_text="Highest close in the period, dollars.", allow_null=True)
    min_price = Price(help_text="Lowest close in the period, dollars.", allow_null=True)
    avg_volume = serializers.IntegerField(allow_null=True, help_text="Mean daily volume, shares.")


class HistoricalPricesSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    data_points = serializers.IntegerField(help_text="Number of bars returned.")
    start_date = serializers.DateField(help_text="First date of the window asked for.")
    end_date = serializers.DateField(help_text="Last date of the window asked for.")
    prices = PriceBarSerializer(many=True, help_text="Daily bars, newest first.")
    statistics = HistoryStatisticsSerializer()
    last_updated = serializers.DateTimeField(
        allow_null=True, help_text="Close of the last bar's session, UTC."
    )
    source = serializers.CharField(
        allow_null=True, help_text="Where the bars came from (e.g. simulated, csv, fmp)."
    )
    warnings = serializers.ListField(child=serializers.CharField())


class QuoteSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    price = Price(
        help_text="Last trade (or mid), dollars per share (per option share for options).",
        allow_null=True,
    )
    change = Price(help_text="Price − previous close, dollars per share.", allow_null=True)
    change_percent = serializers.DecimalField(
        max_digits=None,
        decimal_places=4,
        allow_null=True,
        help_text="Change over the previous close in percent: 0.34 means 0.34%.",
    )
    previous_close = Price(
        help_text="Previous session's close, split-adjusted, dollars per share.", allow_null=True
    )
    volume = serializers.IntegerField(allow_null=True, help_text="Session volume, shares.")
    bid = Price(help_text="Bid, dollars per share.", allow_null=True)
    ask = Price(help_text="Ask, dollars per share.", allow_null=True)
    bid_size = serializers.IntegerField(allow_null=True, help_text="Shares (contracts).")
    ask_size = serializers.IntegerField(allow_null=True, help_text="Shares (contracts).")
    high_52_week = Price(
        help_text="Highest high of the last 52 weeks, split-adjusted, dollars.", allow_null=True
    )
    low_52_week = Price(
        help_text="Lowest low of the last 52 weeks, split-adjusted, dollars.", allow_null=True
    )
    market_cap = Money(
        help_text="Shares outstanding × price, dollars (null when unknown).", allow_null=True
    )
    implied_volatility = RoundedFloatField(
        places=6, allow_null=True, help_text="Options only: implied volatility, a fraction."
    )
    timestamp = serializers.DateTimeField(
        allow_null=True, help_text="Quote time, or the close of the bar's session, UTC."
    )
    source = serializers.CharField(allow_null=True, help_text="simulated, csv, fmp, polygon…")


class QuotesSerializer(serializers.Serializer):
    quotes = QuoteSerializer(many=True)
    market_status = serializers.ChoiceField(
        choices=["open", "pre_market", "after_hours", "closed"], help_text="NYSE state now."
    )
    last_updated = serializers.DateTimeField(help_text="Newest quote time, UTC.")
    warnings = serializers.ListField(child=serializers.CharField())


class DatedCloseSerializer(serializers.Serializer):
    date = serializers.DateField()
    close = Price(help_text="Raw close, dollars per share.", allow_null=True)


class FactorETFSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    name = serializers.CharField()
    factor_type = serializers.CharField(help_text="The factor key (market, size, value…).")
    current_price = Price(help_text="Latest price, dollars per share.", allow_null=True)
    change = Price(help_text="Price − previous close, dollars per share.", allow_null=True)
    change_percent = serializers.DecimalField(
        max_digits=None,
        decimal_places=4,
        allow_null=True,
        help_text="Change over the previous close in percent: 0.34 means 0.34%.",
    )
    volume = serializers.IntegerField(allow_null=True, help_text="Session volume, shares.")
    last_updated = serializers.DateTimeField(allow_null=True, help_text="UTC.")
    source = serializers.CharField(allow_null=True)
    historical_prices = DatedCloseSerializer(many=True, help_text="Closes, newest first.")


class FactorETFSummarySerializer(serializers.Serializer):
    total_etfs = serializers.IntegerField()
    data_coverage = serializers.CharField(help_text='Share of ETFs with a price, e.g. "100%".')
    last_updated = serializers.DateTimeField(allow_null=True, help_text="UTC.")


class FactorETFPricesSerializer(serializers.Serializer):
    factor_etfs = FactorETFSerializer(many=True)
    summary = FactorETFSummarySerializer()
    warnings = serializers.ListField(child=serializers.CharField())


# --------------------------------------------------------------------------- 0DTE market


class MarketClockFieldsMixin(serializers.Serializer):
    """Added keys of every 0DTE response (API-CONVENTIONS, "Market clock")."""

    market_status = serializers.ChoiceField(
        choices=["open", "closed"], help_text="The 0DTE market clock's state."
    )
    clock = serializers.ChoiceField(
        choices=["live", "replay"], help_text="Which clock produced the figures."
    )
    session = serializers.DateField(
        help_text="The session being traded, or the last completed one while closed."
    )


class MarketTickerSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    name = serializers.CharField(allow_null=True)
    exchange = serializers.CharField(allow_null=True)
    active = serializers.BooleanField()
    options_available = serializers.BooleanField(
        help_text="Whether the option root has listed expiries stored."
    )


class MarketTickersSerializer(MarketClockFieldsMixin):
    tickers = MarketTickerSerializer(many=True)


class MarketDataQuerySerializer(serializers.Serializer):
    include_options = serializers.BooleanField(default=False)


class MarketDataSerializer(MarketClockFieldsMixin):
    symbol = serializers.CharField()
    price = Price(
        allow_null=True,
        help_text="Close of the last completed minute (the session's close once closed), $.",
    )
    change = Price(allow_null=True, help_text="Price − previous session's close, dollars.")
    change_percent = serializers.DecimalField(
        max_digits=None,
        decimal_places=4,
        allow_null=True,
        coerce_to_string=False,
        help_text="Change over the previous close in percent: 0.53 means 0.53%.",
    )
    volume = serializers.IntegerField(allow_null=True, help_text="Shares traded so far today.")
    bid = Price(allow_null=True, help_text="Dollars per share.")
    ask = Price(allow_null=True, help_text="Dollars per share.")
    last_updated = serializers.DateTimeField(
        allow_null=True, help_text="End of the minute the price is from, UTC."
    )
    previous_close = Price(allow_null=True, help_text="Previous session's close, dollars.")
    source = serializers.CharField()
    options_chain = serializers.JSONField(
        allow_null=True,
        help_text="With include_options=true: {expiration, calls, puts} as /market/options.",
    )
    warnings = serializers.ListField(child=serializers.CharField())


def _pair_fields(help_text: str) -> dict[str, serializers.Field]:
    return {
        pair: serializers.FloatField(allow_null=True, help_text=help_text)
        for pair in ("SPY_QQQ", "SPY_IWM", "QQQ_IWM")
    }


PairsSerializer = type(
    "PairsSerializer",
    (serializers.Serializer,),
    _pair_fields("Correlation of one-minute log returns, −1…1 (null: too few bars)."),
)
DivergenceSerializer = type(
    "DivergenceSerializer",
    (serializers.Serializer,),
    _pair_fields("z of the 20-bar correlation against its last 180 bars (null: too few)."),
)


class RegimeAdjustmentsSerializer(serializers.Serializer):
    regime_type = serializers.CharField()
    adaptation_factor = serializers.FloatField()
    position_size_multiplier = serializers.FloatField()
    confidence_threshold_bump = serializers.FloatField(help_text="Added, a fraction.")
    stop_loss_tightening = serializers.FloatField(help_text="Multiplies the stop distance.")


class MarketCorrelationSerializer(MarketClockFieldsMixin):
    timestamp = serializers.DateTimeField(allow_null=True, help_text="End of the last bar, UTC.")
    correlations = PairsSerializer(help_text="Over the last 60 bars.")
    correlations_20 = PairsSerializer(help_text="Over the last 20 bars.")
    correlations_180 = PairsSerializer(help_text="Over the last 180 bars.")
    divergence_zscore = DivergenceSerializer()
    bars = serializers.IntegerField(help_text="Minute returns available (at most 180).")
    regime = serializers.ChoiceField(
        choices=["low_volatility", "normal", "high_volatility", "extreme_volatility"],
        allow_null=True,
    )
    vix_level = serializers.FloatField(allow_null=True, help_text="VIX, index points.")
    regime_adjustments = RegimeAdjustmentsSerializer(allow_null=True)
    warnings = serializers.ListField(child=serializers.CharField())


class OptionChainQuerySerializer(serializers.Serializer):
    expiration = serializers.DateField(
        required=False, help_text="A listed expiry on or after the session (default: 0DTE)."
    )
    strikes = serializers.IntegerField(
        default=10, min_value=1, max_value=50, help_text="Strikes on each side of the money."
    )


class OptionQuoteSerializer(serializers.Serializer):
    strike = serializers.FloatField(help_text="Dollars.")
    bid = serializers.FloatField(help_text="Dollars per share of underlying.")
    ask = serializers.FloatField(help_text="Dollars per share of underlying.")
    last = serializers.FloatField(help_text="Dollars per share of underlying.")
    mid = serializers.FloatField(help_text="Model price (BSM at the smile's IV), dollars.")
    bid_size = serializers.IntegerField(help_text="Contracts.")
    ask_size = serializers.IntegerField(help_text="Contracts.")
    volume = serializers.IntegerField(help_text="Contracts traded so far today (modelled).")
    open_interest = serializers.IntegerField(help_text="Contracts (modelled).")
    implied_volatility = serializers.FloatField(help_text="Annualized, a fraction.")
    delta = serializers.FloatField(help_text="Per $1 of the underlying.")
    gamma = serializers.FloatField(help_text="Per $1 of the underlying, per $1.")
    theta = serializers.FloatField(help_text="Dollars per calendar day.")
    vega = serializers.FloatField(help_text="Dollars per volatility point.")
    rho = serializers.FloatField(help_text="Dollars per rate point.")


class OptionChainSerializer(MarketClockFieldsMixin):
    symbol = serializers.CharField()
    underlying_price = serializers.FloatField(allow_null=True, help_text="Dollars.")
    expiration = serializers.DateField(allow_null=True)
    time_to_expiration = serializers.FloatField(
        allow_null=True, help_text="Calendar days to the expiry's close, fractional."
    )
    minutes_to_expiration = serializers.FloatField(allow_null=True)
    timestamp = serializers.DateTimeField(allow_null=True, help_text="The minute priced, UTC.")
    vix_level = serializers.FloatField(allow_null=True, help_text="Index points.")
    rate = serializers.FloatField(required=False, help_text="Continuously compounded.")
    dividend_yield = serializers.FloatField(required=False)
    source = serializers.CharField()
    calls = OptionQuoteSerializer(many=True)
    puts = OptionQuoteSerializer(many=True)
    warnings = serializers.ListField(child=serializers.CharField())
