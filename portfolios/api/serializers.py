"""Shapes of the portfolio endpoints. Output serializers document the spec examples'
keys and units in the OpenAPI schema; input serializers validate requests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from rest_framework import serializers

from marketdata import calendar
from portfolios.models import PortfolioType
from sigmasight.api.fields import (
    CashInput,
    CurrencyField,
    DollarKeysDict,
    FeesInput,
    IsoDateField,
    Money,
    Percent,
    Price,
    PriceInput,
    Quantity,
    QuantityInput,
)
from sigmasight.api.inputs import StrictBodySerializer, Warnings
from sigmasight.api.pagination import PaginationSerializer

# ---- /data/portfolios ------------------------------------------------------------------------


class PortfolioListItemSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    type = serializers.CharField(help_text="INDIVIDUAL, HNW, HEDGE_FUND or OTHER")
    currency = serializers.CharField()
    is_default = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    positions_count = serializers.IntegerField(help_text="Open positions")
    cash_balance = Money(help_text="The cash ledger's balance, US dollars")
    total_value = Money(
        allow_null=True,
        help_text="Σ market value of open positions + cash, US dollars; null when an open position has no price",
    )


class PortfolioListSerializer(serializers.Serializer):
    data = PortfolioListItemSerializer(many=True)
    pagination = PaginationSerializer()
    warnings = Warnings(help_text="Why a listed total_value is null")


# ---- /data/portfolio/{id}/complete ------------------------------------------------------------


class PortfolioHeaderSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    currency = serializers.CharField()
    type = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class CompletePositionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    symbol = serializers.CharField()
    position_type = serializers.CharField(help_text="LONG, SHORT, CALL or PUT")
    stored_type = serializers.CharField(help_text="LONG, SHORT, LC, LP, SC or SP")
    quantity = Quantity()
    current_price = Price(allow_null=True)
    market_value = Money(allow_null=True)
    unrealized_pnl = Money(allow_null=True)
    cost_basis = Price(help_text="Per-unit entry price (per option share for options)")
    total_cost_basis = Money(help_text="quantity × entry price × multiplier")
    multiplier = serializers.IntegerField()
    price_source = serializers.CharField(allow_null=True)


class CompleteSummarySerializer(serializers.Serializer):
    total_value = Money(
        allow_null=True, help_text="positions_value + cash; null when an open position has no price"
    )
    cash_balance = Money()
    positions_value = Money(
        allow_null=True,
        help_text="Σ market value of open positions; null when an open position has no price",
    )
    total_pnl = Money(
        allow_null=True,
        help_text="Unrealized + realized P&L, US dollars; null when an open position has no price",
    )
    unrealized_pnl = Money(
        allow_null=True, help_text="US dollars; null when an open position has no price"
    )
    realized_pnl = Money()
    day_change = Money(
        allow_null=True,
        help_text="US dollars; null when a position has no price or no previous close",
    )
    positions_count = serializers.IntegerField()


class CompleteMarketDataSerializer(serializers.Serializer):
    last_updated = serializers.DateTimeField(allow_null=True)
    data_quality = serializers.FloatField(allow_null=True, help_text="Score 0–100")
    source = serializers.CharField(allow_null=True)


class CompletePortfolioSerializer(serializers.Serializer):
    portfolio = PortfolioHeaderSerializer(required=False)
    positions = CompletePositionSerializer(many=True, required=False)
    summary = CompleteSummarySerializer(required=False)
    market_data = CompleteMarketDataSerializer(required=False)
    as_of_date = serializers.DateField(allow_null=True)
    warnings = Warnings()


SECTIONS = ("portfolio", "positions", "summary", "market_data")
#: The keys of the /complete body, in the order the response sends them.
COMPLETE_KEYS = (*SECTIONS, "as_of_date", "warnings")


def latest_session() -> dt.date:
    """The latest NYSE session that has opened: today's from its open, else the last one."""
    now = timezone.now()
    today = now.astimezone(calendar.EASTERN).date()
    if calendar.is_session(today) and now >= calendar.session_open_utc(today):
        return today
    return calendar.previous_session(today)


class CompleteQuerySerializer(serializers.Serializer):
    sections = serializers.CharField(
        required=False, help_text=f"Comma-separated: {', '.join(SECTIONS)}"
    )
    as_of_date = serializers.DateField(
        required=False,
        help_text="YYYY-MM-DD, at most the latest NYSE session (today's, once it has opened)",
    )

    def validate_as_of_date(self, value: dt.date) -> dt.date:
        latest = latest_session()
        if value > latest:
            raise serializers.ValidationError(
                f"as_of_date {value.isoformat()} is after the latest session "
                f"({latest.isoformat()}): there are no prices for it yet"
            )
        return value

    def validate_sections(self, value: str) -> list[str]:
        chosen = [part.strip() for part in value.split(",") if part.strip()]
        unknown = sorted(set(chosen) - set(SECTIONS))
        if unknown or not chosen:
            raise serializers.ValidationError(
                f"Unknown sections {unknown}; choose from {list(SECTIONS)}"
            )
        return chosen


# ---- /data/positions/details ----------------------------------------------------------------


class PositionDetailItemSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    portfolio_id = serializers.UUIDField()
    symbol = serializers.CharField()
    position_type = serializers.CharField()
    stored_type = serializers.CharField()
    quantity = Quantity()
    cost_basis = Price()
    current_price = Price(allow_null=True)
    market_value = Money(allow_null=True)
    unrealized_pnl = Money(allow_null=True)
    unrealized_pnl_percent = Percent(allow_null=True)
    realized_pnl = Money()
    day_change = Money(allow_null=True)
    day_change_percent = Percent(allow_null=True)
    is_active = serializers.BooleanField()
    tags = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class PositionDetailsSummarySerializer(serializers.Serializer):
    total_positions = serializers.IntegerField()
    total_market_value = Money(
        allow_null=True, help_text="Active positions; null when an open position has no price"
    )
    total_unrealized_pnl = Money(
        allow_null=True, help_text="Active positions; null when an open position has no price"
    )
    total_day_change = Money(
        allow_null=True, help_text="Active positions; null when an open position has no price"
    )
    long_positions = serializers.IntegerField()
    short_positions = serializers.IntegerField()
    options_positions = serializers.IntegerField()


class PositionDetailsSerializer(serializers.Serializer):
    data = PositionDetailItemSerializer(many=True)
    summary = PositionDetailsSummarySerializer()
    pagination = PaginationSerializer()
    warnings = Warnings()


class PositionDetailsQuerySerializer(serializers.Serializer):
    portfolio_id = serializers.UUIDField(
        required=False, help_text="Defaults to the user's default portfolio"
    )
    position_type = serializers.ChoiceField(
        required=False, choices=["LONG", "SHORT", "CALL", "PUT", "LC", "LP", "SC", "SP"]
    )
    include_inactive = serializers.BooleanField(required=False, default=False)


# ---- /data/portfolios/{id}/positions/summary -------------------------------------------------


class GroupSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    value = Money(
        allow_null=True,
        help_text="Σ signed market value, US dollars (negative for shorts); null when an open position has no price",
    )
    percentage = Percent(
        allow_null=True,
        help_text="value / net invested value (Σ signed market value of the active positions) "
        "× 100: shorts negative, the groups add up to 100",
    )


class PositionSummaryItemSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    symbol = serializers.CharField()
    position_type = serializers.CharField()
    quantity = Quantity()
    market_value = Money(allow_null=True)
    weight = serializers.FloatField(
        allow_null=True, help_text="|market value| / gross exposure, a fraction"
    )
    unrealized_pnl = Money(allow_null=True)
    unrealized_pnl_percent = Percent(allow_null=True)
    day_change = Money(allow_null=True)
    day_change_percent = Percent(allow_null=True)
    is_active = serializers.BooleanField()


class SummaryStatisticsSerializer(serializers.Serializer):
    total_positions = serializers.IntegerField()
    active_positions = serializers.IntegerField()
    closed_positions = serializers.IntegerField()
    total_market_value = Money(
        allow_null=True, help_text="Active positions; null when an open position has no price"
    )
    total_cost_basis = Money(
        help_text="Σ quantity × entry price × multiplier (signed: short proceeds negative)"
    )
    total_unrealized_pnl = Money(
        allow_null=True, help_text="Active positions; null when an open position has no price"
    )
    total_unrealized_pnl_percent = Percent(
        allow_null=True,
        help_text="total_unrealized_pnl / gross cost basis (Σ |quantity × entry price × "
        "multiplier|) × 100",
    )


class PerformerSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    unrealized_pnl_percent = Percent()


class PerformanceSerializer(serializers.Serializer):
    winners = serializers.IntegerField()
    losers = serializers.IntegerField()
    best_performer = PerformerSerializer(allow_null=True)
    worst_performer = PerformerSerializer(allow_null=True)


class GroupingsSerializer(serializers.Serializer):
    by_asset_type = serializers.DictField(child=GroupSerializer(), help_text="stocks, options")
    by_sector = serializers.DictField(child=GroupSerializer())
    by_position_type = serializers.DictField(
        child=GroupSerializer(), help_text="LONG, SHORT, CALL, PUT"
    )


class PositionSummarySerializer(serializers.Serializer):
    portfolio_id = serializers.UUIDField()
    summary_statistics = SummaryStatisticsSerializer()
    position_summary = PositionSummaryItemSerializer(
        many=True, help_text="One page (sort/page/limit)"
    )
    pagination = PaginationSerializer()
    groupings = GroupingsSerializer()
    performance_metrics = PerformanceSerializer()
    last_updated = serializers.DateTimeField(allow_null=True)
    warnings = Warnings()


GROUP_BY = ("asset_type", "sector", "position_type", "tag")


class PositionSummaryQuerySerializer(serializers.Serializer):
    group_by = serializers.ChoiceField(
        required=False, choices=GROUP_BY, help_text="Adds groupings.by_<field>"
    )
    include_closed = serializers.BooleanField(required=False, default=False)


# ---- /data/positions/{id}/details ------------------------------------------------------------


class PositionOneQuerySerializer(serializers.Serializer):
    include_history = serializers.BooleanField(required=False, default=True)


class PositionCoreSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    portfolio_id = serializers.UUIDField()
    symbol = serializers.CharField()
    position_type = serializers.CharField()
    stored_type = serializers.CharField()
    quantity = Quantity()
    multiplier = serializers.IntegerField()
    cost_basis = Price()
    current_price = Price(allow_null=True)
    market_value = Money(allow_null=True)
    weight_in_portfolio = serializers.FloatField(
        allow_null=True, help_text="A fraction of gross exposure"
    )
    entry_date = serializers.DateField()
    exit_date = serializers.DateField(allow_null=True)
    exit_price = Price(allow_null=True)
    underlying_symbol = serializers.CharField(allow_null=True)
    strike = Price(allow_null=True)
    expiration_date = serializers.DateField(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    is_active = serializers.BooleanField()


class PnlAnalysisSerializer(serializers.Serializer):
    unrealized_pnl = Money(allow_null=True)
    unrealized_pnl_percent = Percent(allow_null=True)
    realized_pnl = Money()
    day_change = Money(allow_null=True)
    day_change_percent = Percent(allow_null=True)
    total_cost = Money(help_text="Σ cash paid to open (buys), US dollars")
    total_proceeds = Money(help_text="Σ cash received (sells and short sales), US dollars")


class MarketDataBlockSerializer(serializers.Serializer):
    current_price = Price(allow_null=True)
    previous_close = Price(allow_null=True)
    bid = Price(allow_null=True)
    ask = Price(allow_null=True)
    volume = serializers.IntegerField(allow_null=True)
    day_high = Price(allow_null=True)
    day_low = Price(allow_null=True)
    year_high = Price(allow_null=True)
    year_low = Price(allow_null=True)
    implied_volatility = serializers.FloatField(allow_null=True, help_text="Options: a fraction")
    source = serializers.CharField(allow_null=True)
    last_updated = serializers.DateTimeField(allow_null=True)


class FundamentalsSerializer(serializers.Serializer):
    market_cap = Money(allow_null=True, help_text="shares outstanding × price, US dollars")
    pe_ratio = serializers.FloatField(allow_null=True, help_text="price / trailing EPS")
    dividend_yield = serializers.FloatField(allow_null=True, help_text="A fraction")
    beta = serializers.FloatField(allow_null=True, help_text="Against SPY, from the risk engine")
    sector = serializers.CharField(allow_null=True)
    industry = serializers.CharField(allow_null=True)
    asset_type = serializers.CharField()


class ReturnPointSerializer(serializers.Serializer):
    """``{"date", "return"}`` as the spec's 2.13 example sends it. ``return`` is a Python
    keyword, so the field is declared by name: the schema and the payload share the key."""

    date = serializers.DateField()

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["return"] = serializers.FloatField(help_text="Daily return, a fraction")
        return fields


class HistoricalPerformanceSerializer(serializers.Serializer):
    returns = ReturnPointSerializer(many=True)
    volatility_30d = serializers.FloatField(allow_null=True, help_text="Annualized, a fraction")
    sharpe_ratio_30d = serializers.FloatField(allow_null=True)
    max_drawdown_30d = serializers.FloatField(allow_null=True, help_text="A negative fraction")


class TransactionSerializer(serializers.Serializer):
    date = serializers.DateField()
    type = serializers.CharField()
    quantity = Quantity(allow_null=True)
    price = Price(allow_null=True)
    value = Money(help_text="|quantity × price × multiplier|, US dollars")
    fees = Money()
    realized_pnl = Money(allow_null=True)


class PositionOneSerializer(serializers.Serializer):
    position = PositionCoreSerializer()
    pnl_analysis = PnlAnalysisSerializer()
    market_data = MarketDataBlockSerializer()
    fundamentals = FundamentalsSerializer()
    greeks = serializers.DictField(allow_null=True)
    factor_exposures = serializers.DictField(allow_null=True)
    risk_metrics = DollarKeysDict(
        dollar_keys=("position_var_95", "position_var_99", "component_var", "marginal_var"),
        help_text="The position's VaR figures from the latest risk batch",
        allow_null=True,
    )
    historical_performance = HistoricalPerformanceSerializer(allow_null=True)
    transactions = TransactionSerializer(many=True)
    alerts = serializers.ListField(child=serializers.CharField())
    last_updated = serializers.DateTimeField(allow_null=True)
    warnings = Warnings()


# ---- /management/ inputs ---------------------------------------------------------------------
# Every body serializer is strict (unknown keys are 422) and takes numbers and dates only
# through the bounded fields of sigmasight.api.fields (README, "Input limits").


class PortfolioInputSerializer(StrictBodySerializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=5000, default=""
    )
    currency = CurrencyField(required=False, default="USD")
    type = serializers.ChoiceField(
        choices=PortfolioType.choices, required=False, default=PortfolioType.INDIVIDUAL
    )


class PortfolioUpdateSerializer(StrictBodySerializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    currency = CurrencyField(required=False)
    type = serializers.ChoiceField(choices=PortfolioType.choices, required=False)


class TagsField(serializers.ListField):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(child=serializers.CharField(max_length=50), max_length=50, **kwargs)


class PositionOpenSerializer(StrictBodySerializer):
    symbol = serializers.CharField(max_length=32, help_text="Ticker or OCC option symbol")
    quantity = QuantityInput(help_text="Signed: negative opens a short; options in contracts")
    entry_price = PriceInput(help_text="Per share (per option share for options)")
    entry_date = IsoDateField()
    tags = TagsField(required=False, default=list)
    fees = FeesInput(required=False, default=0)


class PositionUpdateSerializer(StrictBodySerializer):
    quantity = QuantityInput(required=False)
    entry_price = PriceInput(required=False)
    entry_date = IsoDateField(required=False)
    tags = TagsField(required=False)


class PositionCloseSerializer(StrictBodySerializer):
    exit_price = PriceInput(
        minimum=Decimal(0), required=False, help_text="0–1,000,000; defaults to the latest quote"
    )
    exit_date = IsoDateField(required=False, help_text="Defaults to today")
    quantity = QuantityInput(
        signed=False, required=False, help_text="Partial close size (positive); default all"
    )
    fees = FeesInput(required=False, default=0)


class CashInputSerializer(StrictBodySerializer):
    type = serializers.ChoiceField(choices=["DEPOSIT", "WITHDRAWAL"])
    amount = CashInput()
    date = IsoDateField(required=False, help_text="YYYY-MM-DD; defaults to today")
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=200, default=""
    )


class DeleteQuerySerializer(serializers.Serializer):
    confirm = serializers.BooleanField(
        required=False, default=False, help_text="Required to delete a portfolio with holdings"
    )


class CloseResultSerializer(serializers.Serializer):
    position_id = serializers.UUIDField()
    symbol = serializers.CharField()
    closed_quantity = Quantity()
    exit_price = Price()
    exit_date = serializers.DateField()
    realized_pnl = Money()
    cash_flow = Money(help_text="Cash received (+) or paid (−), US dollars")
    remaining_quantity = Quantity()
    is_active = serializers.BooleanField()


class PositionResourceSerializer(PositionDetailItemSerializer):
    """A position as M4/M5 return it: the /data/positions/details row shape."""


class BookedPositionSerializer(PositionResourceSerializer):
    """M4's answer: the position row, and why it may not be priced yet."""

    warnings = Warnings()


# ---- cash and the ledger ---------------------------------------------------------------------


class LedgerEntrySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    date = serializers.DateField(source="trade_date")
    type = serializers.CharField(
        source="kind", help_text="BUY, SELL, DEPOSIT, WITHDRAWAL, DIVIDEND or FEE"
    )
    amount = Money(help_text="Signed cash flow, US dollars: + in, − out (fees included)")
    symbol = serializers.CharField(allow_null=True)
    position_id = serializers.UUIDField(allow_null=True)
    description = serializers.CharField(source="note", allow_blank=True)
    balance_after = Money(help_text="Cash balance after this entry, in booking order, US dollars")


class LedgerSerializer(serializers.Serializer):
    data = LedgerEntrySerializer(many=True)
    pagination = PaginationSerializer()
