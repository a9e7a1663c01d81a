"""Cash dividends into the ledger: held stocks and ETFs are paid on their ex-dates.

The rule: a position is paid for the shares it held at the close of the session before the
ex-date (the holders of record), i.e. the sum of its trades (BUY/SELL quantities, signed)
dated before the ex-date, each times the ratios of the splits between its date and the
ex-date (a split changes the shares held without a trade). A long position receives shares × dividend per share; a short one
pays it (the lender is owed the dividend), so the amount keeps the sign of the shares. One
DIVIDEND transaction per (position, ex-date), dated on the ex-date, rounded to cents, with
the dividend's source in its note ("simulated" for the simulated provider's dividends,
marketdata/providers/simulated/dividends.py). Running it again books nothing new: it is
idempotent, under a lock on each portfolio it writes.

The dividends themselves are read from marketdata (``selectors.dividends_between``), recorded
there by the market-data update.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from marketdata.selectors import Dividend, dividends_between, split_factor, splits_for
from portfolios.models import (
    OPTION_TYPES,
    Portfolio,
    Position,
    Transaction,
    TransactionKind,
)
from portfolios.signals import portfolio_changed
from portfolios.valuation import money

#: Trades that change the shares held.
TRADE_KINDS = (TransactionKind.BUY, TransactionKind.SELL)


def _note(dividend: Dividend) -> str:
    return (
        f"dividend {dividend.amount.quantize(Decimal('0.0001'))}/share, ex-date {dividend.ex_date.isoformat()} "
        f"({dividend.source or 'unknown source'})"
    )[:200]


def dividends_book(
    *,
    through: dt.date | None = None,
    start: dt.date | None = None,
    portfolio_ids: Sequence[UUID] | None = None,
) -> dict[str, Any]:
    """Book every recorded dividend with an ex-date from ``start`` (default: all) to
    ``through`` (default: today) owed to the live portfolios (or ``portfolio_ids``), per the
    module's rule. Returns counts: dividends considered, transactions booked and the cash
    booked (a Decimal, cents)."""
    through = through or timezone.localdate()
    dividends = dividends_between(start=start, end=through)
    by_symbol: dict[str, list[Dividend]] = defaultdict(list)
    for dividend in dividends:
        by_symbol[dividend.symbol].append(dividend)
    positions = Position.objects.filter(
        security_id__in=list(by_symbol), portfolio__deleted_at__isnull=True
    ).exclude(position_type__in=OPTION_TYPES)
    if portfolio_ids is not None:
        positions = positions.filter(portfolio_id__in=list(portfolio_ids))
    position_list = list(positions.only("id", "portfolio_id", "security_id", "entry_date"))
    first = min((p.entry_date for p in position_list), default=through)
    splits = splits_for(symbols=list(by_symbol), since=first, end=through) if position_list else {}
    trades: dict[UUID, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    for position_id, trade_date, quantity in Transaction.objects.filter(
        position_id__in=[p.id for p in position_list], kind__in=TRADE_KINDS
    ).values_list("position_id", "trade_date", "quantity"):
        trades[position_id].append((trade_date, quantity or Decimal(0)))

    owed: dict[UUID, list[Transaction]] = defaultdict(list)
    for position in position_list:
        for dividend in by_symbol[position.security_id]:
            if position.entry_date >= dividend.ex_date:
                continue
            record = dividend.ex_date - dt.timedelta(days=1)
            own_splits = splits.get(position.security_id, [])
            shares = sum(
                (
                    q * split_factor(own_splits, after=day, upto=record)
                    for day, q in trades[position.id]
                    if day < dividend.ex_date
                ),
                Decimal(0),
            )
            if shares == 0:
                continue
            owed[position.portfolio_id].append(
                Transaction(
                    portfolio_id=position.portfolio_id,
                    position=position,
                    kind=TransactionKind.DIVIDEND,
                    symbol=position.security_id,
                    quantity=shares,
                    price=dividend.amount,
                    amount=money(shares * dividend.amount),
                    trade_date=dividend.ex_date,
                    note=_note(dividend),
                )
            )

    booked = 0
    cash = Decimal(0)
    for portfolio_id, candidates in owed.items():
        with transaction.atomic():
            # The lock makes a concurrent run wait, then see what this one booked.
            locked = Portfolio.objects.select_for_update().filter(pk=portfolio_id).first()
            done = set(
                Transaction.objects.filter(
                    portfolio_id=portfolio_id,
                    kind=TransactionKind.DIVIDEND,
                    position_id__in=[t.position_id for t in candidates],
                ).values_list("position_id", "trade_date")
            )
            new = [t for t in candidates if (t.position_id, t.trade_date) not in done]
            Transaction.objects.bulk_create(new)
            if new and locked is not None:
                portfolio_changed(portfolio_id, locked.owner_id)  # bulk writes send no signal
            booked += len(new)
            cash += sum((t.amount for t in new), Decimal(0))
    return {
        "dividends": len(dividends),
        "transactions": booked,
        "cash": money(cash),
        "through": through,
    }
