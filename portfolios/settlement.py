"""Option expiry and settlement (RISK-MODEL.md, Options, "Expiry and settlement").

At the close of its expiry session every open option position is settled:

* equity and ETF options (American, physically settled; SPY, QQQ and IWM included): in the
  money by at least $0.01 at the official close (the underlying's close bar of the expiry
  session), a long option is exercised and a short one assigned into ``multiplier`` shares
  per contract at the strike. The option closes at 0, so its premium is its realized P&L
  (paid by a long, kept by a short); the shares are bought or sold at the strike, adding to,
  reducing (first in, first out, realizing P&L) or opening the stock position, whose entry
  is the strike. Otherwise the option expires worthless (closed at 0);
* index options (European, cash-settled): closed at their intrinsic value on the official
  settlement value (the index's close bar of the expiry session), paid in cash;
* VIX options: cash at intrinsic on the expiry morning's opening value (simulated: the
  VIX's open bar of the expiry day), so they are due after that session's open, not its
  close.

Each settlement is one transaction: the portfolio row is locked (so two settlements of the
same portfolio, or a settlement and a trade, serialize), then the option position; an option
already closed is skipped, which makes the job idempotent (running twice books once). The
ledger rows (``Transaction``) carry the settlement in their note, and the batch job's result
lists every settlement: the audit trail.

A price that is not stored (the expiry session's bar of the underlying) is never guessed:
the option is left open and the job says why in ``warnings``; the next run settles it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from marketdata import calendar
from marketdata import services as marketdata_services
from marketdata.models import AssetType
from marketdata.selectors import security_map, session_opens_closes
from portfolios.models import (
    Lot,
    Portfolio,
    Position,
    PositionType,
    Transaction,
    TransactionKind,
)
from portfolios.valuation import fifo_close, money
from risk.engine.conventions import BLACK76_UNDERLYINGS

#: An equity option is exercised or assigned only when in the money by at least this much.
EXERCISE_THRESHOLD = Decimal("0.01")
ZERO = Decimal(0)

PHYSICAL = "physical"
INDEX_CASH = "index_cash"
VIX_CASH = "vix_cash"


@dataclass(frozen=True)
class SettlementRecord:
    """What one settlement did (JSON-able through :func:`dataclasses.asdict`)."""

    position_id: str
    portfolio_id: str
    symbol: str
    outcome: str  # "exercised", "assigned", "cash_settled" or "expired_worthless"
    settlement_style: str  # PHYSICAL, INDEX_CASH or VIX_CASH
    session: str
    settlement_price: str  # the underlying's official close (or the VIX open), dollars
    intrinsic: str  # per option share, dollars
    realized_pnl: str  # dollars, option and stock legs together
    cash: str  # the signed cash flow, dollars
    shares: str  # shares received (+) or delivered (-) on exercise/assignment


def expiry_session(expiry: dt.date) -> dt.date:
    """The session an option expiring on ``expiry`` settles on: the expiry itself, or the
    session before it when it is not one (a holiday moves the last trading day back)."""
    return expiry if calendar.is_session(expiry) else calendar.previous_session(expiry)


def settlement_style(underlying: str, asset_type: str | None) -> str:
    if underlying in BLACK76_UNDERLYINGS:
        return VIX_CASH
    if asset_type == AssetType.INDEX:
        return INDEX_CASH
    return PHYSICAL


def settlement_due_at(expiry: dt.date, style: str) -> dt.datetime:
    """When an option becomes due for settlement: its expiry session's close, or for VIX
    options that session's open (their settlement value is the opening quotation)."""
    session = expiry_session(expiry)
    if style == VIX_CASH:
        return calendar.session_open_utc(session)
    return calendar.session_close_utc(session)


def _underlying(position: Position) -> str:
    return position.security.underlying_id or position.underlying_symbol or ""


def _option_lots(position: Position) -> tuple[list[Lot], list[tuple[Decimal, Decimal]]]:
    lots = list(position.lots.select_for_update().exclude(remaining=0))
    pairs = [(lot.remaining, lot.price) for lot in lots]
    if sum((q for q, _ in pairs), ZERO) != position.quantity:
        # A position booked without lots (or edited out of step): its average entry is the
        # one lot there is, so the realized P&L still uses what the position says it cost.
        return [], [(position.quantity, position.entry_price)]
    return lots, pairs


def _consume(lots: list[Lot], fills: Sequence[Any]) -> None:
    for fill in fills:
        if lots:
            lot = lots[fill.lot_index]
            lot.remaining -= fill.quantity
            lot.save(update_fields=["remaining"])


def _close_option(
    position: Position, *, exit_price: Decimal, day: dt.date, now: dt.datetime, note: str
) -> tuple[Decimal, Decimal, Decimal]:
    """Close the whole option at ``exit_price`` per share: (contracts closed signed,
    realized P&L, cash), with its ledger row."""
    lots, pairs = _option_lots(position)
    fills = fifo_close(
        pairs,
        quantity=abs(position.quantity),
        exit_price=exit_price,
        multiplier=position.multiplier,
    )
    _consume(lots, fills)
    closed = position.quantity
    realized = money(sum((f.realized_pnl for f in fills), ZERO)) or ZERO
    cash = money(closed * exit_price * position.multiplier) or ZERO
    Transaction.objects.create(
        portfolio=position.portfolio,
        position=position,
        kind=TransactionKind.SELL if closed > 0 else TransactionKind.BUY,
        symbol=position.security_id,
        quantity=-closed,
        price=exit_price,
        amount=cash,
        realized_pnl=realized,
        trade_date=day,
        note=note[:200],
    )
    position.closed_at = now
    position.exit_price = exit_price
    position.exit_date = day
    position.save(update_fields=["closed_at", "exit_price", "exit_date", "updated_at"])
    return closed, realized, cash


def _stock_trade(
    portfolio: Portfolio,
    *,
    symbol: str,
    shares: Decimal,
    price: Decimal,
    day: dt.date,
    now: dt.datetime,
    note: str,
) -> tuple[Decimal, Decimal]:
    """Receive (``shares`` > 0) or deliver (< 0) shares at ``price``: reduce an opposite open
    position first in, first out (realizing P&L), then add to or open the position on the
    side that remains, entry at ``price``. Returns (realized P&L, cash)."""
    realized = ZERO
    cash = ZERO
    existing = (
        Position.objects.select_for_update()
        .filter(portfolio=portfolio, security_id=symbol, closed_at__isnull=True)
        .first()
    )
    left = shares
    if existing is not None and (existing.quantity > 0) != (shares > 0):
        size = min(abs(shares), abs(existing.quantity))
        lots, pairs = _option_lots(existing)
        fills = fifo_close(pairs, quantity=size, exit_price=price, multiplier=existing.multiplier)
        _consume(lots, fills)
        closed = sum((f.quantity for f in fills), ZERO)
        leg_realized = money(sum((f.realized_pnl for f in fills), ZERO)) or ZERO
        leg_cash = money(closed * price) or ZERO
        Transaction.objects.create(
            portfolio=portfolio,
            position=existing,
            kind=TransactionKind.SELL if closed > 0 else TransactionKind.BUY,
            symbol=symbol,
            quantity=-closed,
            price=price,
            amount=leg_cash,
            realized_pnl=leg_realized,
            trade_date=day,
            note=note[:200],
        )
        if closed == existing.quantity:
            existing.closed_at = now
            existing.exit_price = price
            existing.exit_date = day
        else:
            existing.quantity -= closed
        existing.save()
        realized += leg_realized
        cash += leg_cash
        left = shares + closed
        existing = None if existing.closed_at is not None else existing
    if left == 0:
        return realized, cash
    if existing is not None:  # same side: one more lot at the strike
        total = existing.quantity + left
        existing.entry_price = (existing.quantity * existing.entry_price + left * price) / total
        existing.quantity = total
        existing.save(update_fields=["quantity", "entry_price", "updated_at"])
        position = existing
    else:
        position = Position.objects.create(
            portfolio=portfolio,
            security_id=symbol,
            position_type=PositionType.LONG if left > 0 else PositionType.SHORT,
            quantity=left,
            multiplier=1,
            entry_price=price,
            entry_date=day,
            tags=["option_settlement"],
        )
    Lot.objects.create(position=position, open_date=day, price=price, quantity=left, remaining=left)
    leg_cash = money(-left * price) or ZERO
    Transaction.objects.create(
        portfolio=portfolio,
        position=position,
        kind=TransactionKind.BUY if left > 0 else TransactionKind.SELL,
        symbol=symbol,
        quantity=left,
        price=price,
        amount=leg_cash,
        trade_date=day,
        note=note[:200],
    )
    return realized, cash + leg_cash


def _intrinsic(is_call: bool, spot: Decimal, strike: Decimal) -> Decimal:
    return max(ZERO, spot - strike) if is_call else max(ZERO, strike - spot)


@transaction.atomic
def position_settle(
    *, position_id: UUID, price: Decimal, style: str, now: dt.datetime
) -> SettlementRecord | None:
    """Settle one expired option at the underlying's official ``price`` (its close, or the
    VIX open); None if it is no longer open (settled already: the job is idempotent)."""
    portfolio_id = Position.objects.values_list("portfolio_id", flat=True).get(pk=position_id)
    portfolio = Portfolio.objects.select_for_update().get(pk=portfolio_id)
    position = (
        Position.objects.select_for_update(of=("self",))
        .select_related("security")
        .get(pk=position_id)
    )
    if position.closed_at is not None or position.expiry is None or position.strike is None:
        return None
    day = expiry_session(position.expiry)
    is_call = position.position_type in (PositionType.LC, PositionType.SC)
    strike = position.strike
    intrinsic = _intrinsic(is_call, price, strike)
    underlying = _underlying(position)
    label = f"{position.security_id} ({underlying} {strike} {'call' if is_call else 'put'})"
    shares = ZERO
    if style == PHYSICAL and intrinsic >= EXERCISE_THRESHOLD:
        outcome = "exercised" if position.quantity > 0 else "assigned"
        closed, realized, cash = _close_option(
            position,
            exit_price=ZERO,
            day=day,
            now=now,
            note=f"{outcome} at expiry: {label}, {underlying} closed at {price}; "
            "the premium is realized",
        )
        # A call delivers shares to its holder, a put takes them: long call and short put
        # receive, long put and short call deliver, contracts × multiplier at the strike.
        shares = closed * position.multiplier * (1 if is_call else -1)
        stock_realized, stock_cash = _stock_trade(
            portfolio,
            symbol=underlying,
            shares=shares,
            price=strike,
            day=day,
            now=now,
            note=f"{outcome}: {label}, {abs(shares)} shares at the strike {strike}",
        )
        realized += stock_realized
        cash += stock_cash
    elif style != PHYSICAL and intrinsic > 0:
        outcome = "cash_settled"
        value = "opening value" if style == VIX_CASH else "settlement value"
        _, realized, cash = _close_option(
            position,
            exit_price=intrinsic,
            day=day,
            now=now,
            note=f"cash settlement at expiry: {label}, {underlying} {value} {price}, "
            f"intrinsic {intrinsic}",
        )
    else:
        outcome = "expired_worthless"
        _, realized, cash = _close_option(
            position,
            exit_price=ZERO,
            day=day,
            now=now,
            note=f"expired worthless: {label}, {underlying} at {price}",
        )
    return SettlementRecord(
        position_id=str(position.id),
        portfolio_id=str(portfolio.id),
        symbol=position.security_id,
        outcome=outcome,
        settlement_style=style,
        session=day.isoformat(),
        settlement_price=str(price),
        intrinsic=str(intrinsic),
        realized_pnl=str(realized),
        cash=str(cash),
        shares=str(shares),
    )


def due_option_positions(
    *, now: dt.datetime, portfolio_ids: Sequence[UUID] | None = None
) -> list[tuple[Position, str]]:
    """Open option positions of live portfolios (or of ``portfolio_ids``) whose settlement
    is due at ``now``, each with its settlement style (two queries)."""
    today = now.astimezone(calendar.EASTERN).date()
    query = Position.objects.filter(
        closed_at__isnull=True,
        expiry__isnull=False,
        expiry__lte=today + dt.timedelta(days=3),  # a weekend expiry settles the Friday before
        multiplier__gt=1,
        portfolio__deleted_at__isnull=True,
    ).select_related("security")
    if portfolio_ids is not None:
        query = query.filter(portfolio_id__in=list(portfolio_ids))
    positions = [p for p in query.order_by("expiry", "created_at") if p.is_option]
    types = {
        s.symbol: s.asset_type
        for s in security_map(symbols={_underlying(p) for p in positions}).values()
    }
    due = []
    for position in positions:
        assert position.expiry is not None  # filtered above
        style = settlement_style(_underlying(position), types.get(_underlying(position)))
        try:
            due_at = settlement_due_at(position.expiry, style)
        except ValueError:  # an expiry outside the NYSE calendar (before 1999): not ours
            continue
        if now >= due_at:
            due.append((position, style))
    return due


def options_settle(
    *,
    now: dt.datetime | None = None,
    portfolio_ids: Sequence[UUID] | None = None,
    refresh_missing: bool = False,
) -> dict[str, Any]:
    """Settle every option position due at ``now`` (default: the wall clock; a replayed
    session passes its own clock). Idempotent. With ``refresh_missing`` (the scheduled
    job), underlyings whose expiry-session bar is not stored yet are brought up to date
    through the market-data service first, so a settlement just after the close need not
    wait for the daily update. Returns ``{"due", "settled", "skipped", "settlements",
    "warnings"}``; the settlements are the audit records."""
    now = now or timezone.now()
    due = due_option_positions(now=now, portfolio_ids=portfolio_ids)
    pairs = set()
    for position, _ in due:
        assert position.expiry is not None
        pairs.add((_underlying(position), expiry_session(position.expiry)))
    bars = session_opens_closes(pairs=pairs)
    missing = sorted({symbol for symbol, day in pairs if (symbol, day) not in bars})
    if refresh_missing and missing:
        marketdata_services.market_data_update(symbols=missing)
        bars = session_opens_closes(pairs=pairs)
    settlements: list[dict[str, Any]] = []
    warnings: list[str] = []
    for position, style in due:
        assert position.expiry is not None
        underlying, day = _underlying(position), expiry_session(position.expiry)
        bar = bars.get((underlying, day))
        price = (bar[0] if style == VIX_CASH else bar[1]) if bar is not None else None
        if price is None:
            what = "opening value" if style == VIX_CASH else "close"
            warnings.append(
                f"{position.security_id}: no {underlying} {what} stored for {day}; not settled yet"
            )
            continue
        record = position_settle(position_id=position.id, price=price, style=style, now=now)
        if record is not None:
            settlements.append(asdict(record))
    return {
        "due": len(due),
        "settled": len(settlements),
        "skipped": len(due) - len(settlements),
        "settlements": settlements,
        "warnings": warnings,
    }
