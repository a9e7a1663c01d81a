"""Reads of portfolios and positions, marked to market from stored prices.

Every function returns plain data and runs a constant number of queries, whatever
the number of positions (the views' query counts are bounded in tests).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

import numpy as np
from django.db.models import Count, F, Q, QuerySet, Sum, Window
from django.utils import timezone

from marketdata.selectors import PriceSnapshot, latest_closes, price_snapshots
from portfolios.engine.valuation import Marks, mark, round_half_up
from portfolios.models import (
    HeldPositionFacts,
    Portfolio,
    Position,
    Transaction,
    TransactionKind,
)
from portfolios.valuation import Valuation, money, percent, value_position
from sigmasight.errors import PortfolioNotFound, PositionNotFound

if TYPE_CHECKING:  # types only: the user model is the accounts app's
    from accounts.models import User


def default_portfolio_id(*, user: User) -> UUID | None:
    """The user's default portfolio, else their oldest live one."""
    return (
        Portfolio.objects.owned_by(user)
        .order_by("-is_default", "created_at")
        .values_list("id", flat=True)
        .first()
    )


def default_portfolio_for_user(*, user: User) -> Portfolio:
    """The user's default portfolio (else their oldest live one), or 404 when they have none."""
    portfolio = Portfolio.objects.owned_by(user).order_by("-is_default", "created_at").first()
    if portfolio is None:
        raise PortfolioNotFound()
    return portfolio


def portfolio_for_user(*, user: User, portfolio_id: UUID | str) -> Portfolio:
    """The user's live portfolio, or 404 (another user's id is indistinguishable from none)."""
    portfolio = Portfolio.objects.owned_by(user).filter(pk=portfolio_id).first()
    if portfolio is None:
        raise PortfolioNotFound()
    return portfolio


def portfolio_for_admin(*, portfolio_id: UUID | None) -> Portfolio | None:
    """Any user's live portfolio (the admin namespace sees all of them), None for None,
    else 404."""
    if portfolio_id is None:
        return None
    portfolio = Portfolio.objects.active().filter(pk=portfolio_id).first()
    if portfolio is None:
        raise PortfolioNotFound()
    return portfolio


def position_for_user(*, user: User, position_id: UUID | str) -> Position:
    position = (
        Position.objects.select_related("portfolio", "security")
        .filter(pk=position_id, portfolio__owner=user, portfolio__deleted_at__isnull=True)
        .first()
    )
    if position is None:
        raise PositionNotFound()
    return position


def live_portfolios(*, portfolio_ids: Sequence[UUID] | None = None) -> list[Portfolio]:
    """Every portfolio that is not deleted (or those of ``portfolio_ids``), oldest first:
    what the batch jobs run over."""
    query = Portfolio.objects.active().order_by("created_at")
    if portfolio_ids is not None:
        query = query.filter(pk__in=list(portfolio_ids))
    return list(query)


def live_portfolio_ids(portfolio_ids: Sequence[UUID] | None = None) -> list[UUID]:
    """The ids of :func:`live_portfolios` (the batch runner's scope check)."""
    query = Portfolio.objects.active().order_by("created_at")
    if portfolio_ids is not None:
        query = query.filter(pk__in=list(portfolio_ids))
    return list(query.values_list("id", flat=True))


def live_portfolio_count() -> tuple[int, int]:
    """(portfolios ever created, portfolios not deleted)."""
    return Portfolio.objects.count(), Portfolio.objects.active().count()


def open_positions(
    *,
    portfolio: Portfolio | None = None,
    portfolio_ids: Sequence[UUID] | None = None,
    options_only: bool = False,
) -> list[Position]:
    """Open positions (with their security) of one portfolio, of ``portfolio_ids``, or of
    every live portfolio; in booking order. One query."""
    query = Position.objects.open().select_related("security")
    if portfolio is not None:
        query = query.filter(portfolio=portfolio)
    else:
        query = query.filter(portfolio__deleted_at__isnull=True)
        if portfolio_ids is not None:
            query = query.filter(portfolio_id__in=list(portfolio_ids))
    if options_only:
        query = query.filter(multiplier__gt=1)
    return list(query.order_by("portfolio_id", "created_at", "id"))


def held_symbols(*, portfolio_ids: Sequence[UUID] | None = None) -> list[str]:
    """Symbols held open in live portfolios (or in ``portfolio_ids``): what the market-data
    update keeps fresh. One query."""
    query = Position.objects.open().filter(portfolio__deleted_at__isnull=True)
    if portfolio_ids is not None:
        query = query.filter(portfolio_id__in=list(portfolio_ids))
    return sorted(set(query.values_list("security_id", flat=True)))


def position_symbol_for_user(*, user: User, position_id: UUID) -> str:
    """The symbol of ``user``'s position (another user's is indistinguishable from none)."""
    symbol = (
        Position.objects.filter(
            pk=position_id, portfolio__owner=user, portfolio__deleted_at__isnull=True
        )
        .values_list("security_id", flat=True)
        .first()
    )
    if symbol is None:
        raise PositionNotFound()
    return str(symbol)


def external_cash_flows(*, portfolio: Portfolio) -> dict[dt.date, Decimal]:
    """Deposits minus withdrawals per date (dollars): the flows a daily return is net of."""
    return dict(
        Transaction.objects.filter(
            portfolio=portfolio, kind__in=[TransactionKind.DEPOSIT, TransactionKind.WITHDRAWAL]
        )
        .values_list("trade_date")
        .annotate(total=Sum("amount"))
        .values_list("trade_date", "total")
    )


def mark_price(snapshot: PriceSnapshot | None, *, is_option: bool) -> Decimal | None:
    """The one mark of a position, as the risk engine prices it: an option at the mid of a
    sane two-sided quote (bid > 0, ask ≥ bid), unrounded (4.005, not 4.01), else its last;
    anything else at the snapshot's price (the last trade)."""
    if snapshot is None:
        return None
    bid, ask = snapshot.bid, snapshot.ask
    if is_option and bid is not None and ask is not None and ask >= bid > 0:
        return (bid + ask) / 2
    return snapshot.price


#: The columns of a booked position that the book reads (named rows, not model instances:
#: a book of 1,000 positions would otherwise spend most of its time in Model.__init__).
_BOOK_FIELDS = (
    "id",
    "portfolio_id",
    "security_id",
    "position_type",
    "quantity",
    "multiplier",
    "underlying_symbol",
    "strike",
    "expiry",
    "entry_price",
    "entry_date",
    "exit_price",
    "exit_date",
    "closed_at",
    "security__sector",
)
#: The columns only the listings that show them read (``details=True``): decoding a JSON
#: list and two timestamps per position costs more than marking it.
_DETAIL_FIELDS = ("tags", "created_at", "updated_at")


@dataclass(frozen=True, slots=True)
class BookPosition(HeldPositionFacts):
    """One position as the book reads it: the stored columns, its security's sector, and
    the model's derived properties (``is_active``, ``is_option``, ``presented_type``)."""

    id: UUID
    portfolio_id: UUID
    security_id: str
    position_type: str
    quantity: Decimal
    multiplier: int
    underlying_symbol: str | None
    strike: Decimal | None
    expiry: dt.date | None
    entry_price: Decimal
    entry_date: dt.date
    exit_price: Decimal | None
    exit_date: dt.date | None
    closed_at: dt.datetime | None
    sector: str | None
    # Read with ``portfolio_book(details=True)`` only; None otherwise.
    tags: list[str] | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


class MarkedPosition:
    """A position with the prices it is marked at. ``valuation`` (exact Decimals) is
    computed on first use: the book's totals and ``/complete`` do not need it per position."""

    __slots__ = ("_valuation", "position", "previous_close", "price", "realized_pnl", "snapshot")

    def __init__(
        self,
        position: BookPosition,
        snapshot: PriceSnapshot | None,
        price: Decimal | None,
        previous_close: Decimal | None,
        realized_pnl: Decimal = Decimal(0),
    ) -> None:
        self.position = position
        self.snapshot = snapshot
        self.price = price
        self.previous_close = previous_close
        self.realized_pnl = realized_pnl
        self._valuation: Valuation | None = None

    @property
    def valuation(self) -> Valuation:
        if self._valuation is None:
            p = self.position
            self._valuation = _representable(
                value_position(
                    quantity=p.quantity,
                    multiplier=p.multiplier,
                    entry_price=p.entry_price,
                    price=self.price,
                    previous_close=self.previous_close,
                )
            )[0]
        return self._valuation


@dataclass(frozen=True)
class BookTotals:
    """Exact Decimal sums over the open positions (unrounded; the API rounds them)."""

    positions_value: Decimal  # Σ market value of the priced positions
    unrealized_pnl: Decimal  # Σ unrealized P&L of the priced positions
    day_change: Decimal  # Σ day change where known
    gross_cost_basis: Decimal  # Σ |quantity × entry price × multiplier|
    unpriced: list[str]  # symbols of open positions without a price
    day_change_unknown: bool  # a priced position without a previous close (or too large)


@dataclass
class PortfolioBook:
    """A portfolio's positions marked at one moment, with its cash and P&L totals.

    ``marks`` holds the float64 figures of ``open_positions`` (same order), for the reads
    that round them per position without building a Decimal valuation each."""

    portfolio: Portfolio
    as_of: dt.date | None
    marked: list[MarkedPosition]
    cash_balance: Decimal
    realized_pnl: Decimal
    totals: BookTotals
    open_positions: list[MarkedPosition]
    marks: Marks
    warnings: list[str] = field(default_factory=list)

    @property
    def positions_value(self) -> Decimal:
        return self.totals.positions_value

    @property
    def total_value(self) -> Decimal:
        return self.positions_value + self.cash_balance

    @property
    def unrealized_pnl(self) -> Decimal:
        return self.totals.unrealized_pnl

    @property
    def day_change(self) -> Decimal:
        return self.totals.day_change

    @property
    def unpriced(self) -> list[str]:
        """Symbols of open positions without a price: every total that sums them is null."""
        return self.totals.unpriced

    def _if_priced(self, value: Decimal) -> Decimal | None:
        return None if self.unpriced else value

    # The ``*_or_null`` totals are what the API reports: null as soon as one open position
    # has no price, because a sum that counts it as $0 would be a wrong number, not a partial
    # one. The plain properties above sum the priced positions only (for callers that state
    # the gap themselves).
    @property
    def positions_value_or_null(self) -> Decimal | None:
        return self._if_priced(self.positions_value)

    @property
    def total_value_or_null(self) -> Decimal | None:
        return self._if_priced(self.total_value)

    @property
    def unrealized_pnl_or_null(self) -> Decimal | None:
        return self._if_priced(self.unrealized_pnl)

    @property
    def total_pnl_or_null(self) -> Decimal | None:
        unrealized = self.unrealized_pnl_or_null
        return None if unrealized is None else unrealized + self.realized_pnl

    @property
    def day_change_or_null(self) -> Decimal | None:
        """Null also when a priced position has no previous close to change from."""
        if self.unpriced or self.totals.day_change_unknown:
            return None
        return self.day_change

    @property
    def gross_cost_basis(self) -> Decimal:
        """Σ |quantity × entry price × multiplier| over open positions: the base of
        ``total_pnl_percent`` (a short's proceeds do not shrink the capital at work)."""
        return self.totals.gross_cost_basis

    @property
    def last_updated(self) -> dt.datetime | None:
        stamps = [m.snapshot.last_updated for m in self.marked if m.snapshot is not None]
        return max(stamps) if stamps else None

    def rounded(self, name: str, *, decimals: int = 2) -> list[float | None]:
        """The figure ``name`` of :class:`Marks` for each open position, rounded half up to
        ``decimals`` places as a float (what JSON carries): the float64 mark where it
        rounds unambiguously, else the exact Decimal valuation's. None where unknown or
        too large to represent (as ``valuation`` has it)."""
        values = getattr(self.marks, name)
        scale = self.marks.percent_scale if name.endswith("_percent") else self.marks.money_scale
        rounded, doubtful = round_half_up(values, decimals=decimals, scale=scale)
        limit = PERCENT_LIMIT if name.endswith("_percent") else MONEY_LIMIT
        near_limit = np.abs(np.nan_to_num(values)) >= float(limit) * 0.5
        result: list[float | None] = [
            None if v != v else v  # NaN is unknown
            for v in rounded.tolist()
        ]
        places = Decimal(1).scaleb(-decimals)
        for i in np.flatnonzero(doubtful | near_limit).tolist():
            exact = getattr(self.open_positions[i].valuation, name)
            exact = None if exact is None else exact.quantize(places, rounding=ROUND_HALF_UP)
            # The API's fields show |figure| < limit; a larger one is null, not a 500.
            result[i] = None if exact is None or abs(exact) >= limit else float(exact)
        return result


def _positions_query(
    portfolio: Portfolio,
    *,
    as_of: dt.date | None,
    include_closed: bool,
    position_ids: Sequence[UUID] | None = None,
) -> QuerySet[Position]:
    query = Position.objects.filter(portfolio=portfolio).select_related("security")
    if position_ids is not None:
        query = query.filter(pk__in=list(position_ids))
    if as_of is not None:
        query = query.filter(entry_date__lte=as_of)
        if not include_closed:
            query = query.filter(Q(exit_date__isnull=True) | Q(exit_date__gt=as_of))
    elif not include_closed:
        query = query.filter(closed_at__isnull=True)
    return query.order_by("created_at", "id")


def cash_balance(*, portfolio: Portfolio, as_of: dt.date | None = None) -> Decimal:
    """The ledger's balance: the sum of every cash flow up to ``as_of``."""
    query = Transaction.objects.filter(portfolio=portfolio)
    if as_of is not None:
        query = query.filter(trade_date__lte=as_of)
    return query.aggregate(total=Sum("amount"))["total"] or Decimal(0)


def cash_balance_of(*, portfolio_id: UUID | str) -> Decimal:
    """:func:`cash_balance` of a portfolio the caller holds the id of (a trading account's
    paper portfolio), to date. One query."""
    total = Transaction.objects.filter(portfolio_id=portfolio_id).aggregate(total=Sum("amount"))
    return total["total"] or Decimal(0)


def stock_value_of(*, portfolio_id: UUID | str, on: dt.date) -> Decimal:
    """The open stock and ETF positions (not options) of a portfolio the caller holds the
    id of, at their latest raw closes on or before ``on``, dollars (a position without a
    close counts 0). Two queries."""
    held = list(
        Position.objects.open()
        .filter(portfolio_id=portfolio_id, multiplier=1)
        .values_list("security_id", "quantity")
    )
    if not held:
        return Decimal(0)
    closes = latest_closes(symbols={symbol for symbol, _ in held}, on_or_before=on)
    return sum(
        (quantity * closes[symbol] for symbol, quantity in held if symbol in closes), Decimal(0)
    )


#: The largest |figure| a response can carry: Percent fields hold 10 integer digits, Money
#: fields 20 (sigmasight.api.fields). Rows booked before the input bounds (an entry price of
#: a millionth of a dollar gives a P&L of 10^10 %) must not break a read.
PERCENT_LIMIT = Decimal(10) ** 10
MONEY_LIMIT = Decimal(10) ** 20


def _representable(valuation: Valuation) -> tuple[Valuation, list[str]]:
    """The valuation with each figure that cannot be represented set to None, and their
    names."""
    limits = {
        "unrealized_pnl_percent": PERCENT_LIMIT,
        "day_change_percent": PERCENT_LIMIT,
        "market_value": MONEY_LIMIT,
        "unrealized_pnl": MONEY_LIMIT,
        "day_change": MONEY_LIMIT,
    }
    too_large = [
        name
        for name, limit in limits.items()
        if (value := getattr(valuation, name)) is not None and abs(value) >= limit
    ]
    if not too_large:
        return valuation, []
    return replace(valuation, **dict.fromkeys(too_large)), too_large


def _nan(value: Decimal | None) -> float:
    return float("nan") if value is None else float(value)


def _totals(open_rows: list[MarkedPosition]) -> BookTotals:
    """The exact sums of :class:`BookTotals`, as Σ of each position's Decimal valuation
    would give them (same products, same order), without building the valuations. A figure
    too large to represent is left out, as ``valuation`` leaves it null."""
    value = unrealized = day = gross = Decimal(0)
    unpriced: list[str] = []
    day_unknown = False
    for m in open_rows:
        p = m.position
        cost = p.quantity * p.entry_price * p.multiplier
        gross += abs(cost)
        if m.price is None:
            unpriced.append(p.security_id)
            continue
        market_value = p.quantity * m.price * p.multiplier
        if abs(market_value) < MONEY_LIMIT:
            value += market_value
        pnl = market_value - cost
        if abs(pnl) < MONEY_LIMIT:
            unrealized += pnl
        if m.previous_close is None:
            day_unknown = True
            continue
        change = market_value - p.quantity * m.previous_close * p.multiplier
        if abs(change) < MONEY_LIMIT:
            day += change
        else:
            day_unknown = True
    return BookTotals(value, unrealized, day, gross, unpriced, day_unknown)


def _ledger_totals(
    portfolio: Portfolio, as_of: dt.date | None
) -> tuple[Decimal, Decimal, dict[UUID, Decimal]]:
    """(cash balance, realized P&L, realized P&L per position) from the ledger up to
    ``as_of``: one grouped query (per position, and the entries of none), summed here. The
    amounts have two places, so the sum of the group sums is the sum."""
    ledger = Transaction.objects.filter(portfolio=portfolio)
    if as_of is not None:
        ledger = ledger.filter(trade_date__lte=as_of)
    cash = realized = Decimal(0)
    by_position: dict[UUID, Decimal] = {}
    for position_id, amount, pnl in (
        ledger.values_list("position_id")
        .annotate(cash=Sum("amount"), realized=Sum("realized_pnl"))
        .values_list("position_id", "cash", "realized")
        .order_by()
    ):
        cash += amount or 0
        if pnl is not None:
            realized += pnl
            if position_id is not None:
                by_position[position_id] = pnl
    return cash, realized, by_position


def portfolio_book(
    *,
    portfolio: Portfolio,
    as_of: dt.date | None = None,
    include_closed: bool = False,
    position_ids: Sequence[UUID] | None = None,
    details: bool = True,
) -> PortfolioBook:
    """Mark every position of ``portfolio`` (open at ``as_of`` when given; only those of
    ``position_ids`` when given) to market. Cash and realized totals are the portfolio's.
    ``details=False`` leaves each position's ``tags``, ``created_at`` and ``updated_at``
    unread (None), for the reads that do not show them.

    The open positions are marked at once on float64 arrays (``portfolios.engine``); the
    totals are exact Decimal sums; a position's Decimal valuation is built when asked for."""
    positions = [
        BookPosition(*row)
        for row in _positions_query(
            portfolio, as_of=as_of, include_closed=include_closed, position_ids=position_ids
        ).values_list(*_BOOK_FIELDS, *(_DETAIL_FIELDS if details else ()))
    ]
    snapshots = price_snapshots(symbols={p.security_id for p in positions}, as_of=as_of)
    cash, realized, realized_by_position = _ledger_totals(portfolio, as_of)
    marked: list[MarkedPosition] = []
    open_rows: list[MarkedPosition] = []
    is_open: list[bool] = []
    warnings: list[str] = []
    unpriced: list[str] = []
    for position in positions:
        snapshot = snapshots.get(position.security_id)
        open_now = position.closed_at is None or (
            as_of is not None and position.exit_date is not None and position.exit_date > as_of
        )
        if open_now:
            # A quote is a live mark; a historical book (as_of) is marked at closes.
            price = (
                mark_price(snapshot, is_option=position.multiplier > 1)
                if as_of is None
                else (snapshot.price if snapshot else None)
            )
            previous = snapshot.previous_close if snapshot else None
            if snapshot is None:
                unpriced.append(position.security_id)
                warnings.append(f"No price for {position.security_id}: its value is null")
            elif previous is None:
                warnings.append(
                    f"No previous close for {position.security_id}: its day change, and the "
                    "portfolio's, are null"
                )
        else:  # closed: valued at its exit, nothing left at risk
            price, previous = position.exit_price, None
        m = MarkedPosition(
            position, snapshot, price, previous, realized_by_position.get(position.id, Decimal(0))
        )
        marked.append(m)
        is_open.append(open_now)
        if open_now:
            open_rows.append(m)
    marks = mark(
        quantity=[float(m.position.quantity) for m in marked],
        multiplier=[m.position.multiplier for m in marked],
        entry_price=[float(m.position.entry_price) for m in marked],
        price=[_nan(m.price) for m in marked],
        previous_close=[_nan(m.previous_close) for m in marked],
    )
    # Only a figure near a limit can be too large: check those exactly.
    near_limit = np.zeros(len(marked), dtype=bool)
    for name in ("market_value", "unrealized_pnl", "day_change"):
        near_limit |= np.abs(np.nan_to_num(getattr(marks, name))) >= float(MONEY_LIMIT) * 0.5
    for name in ("unrealized_pnl_percent", "day_change_percent"):
        near_limit |= np.abs(np.nan_to_num(getattr(marks, name))) >= float(PERCENT_LIMIT) * 0.5
    for i in np.flatnonzero(near_limit).tolist():
        m = marked[i]
        too_large = _representable(
            value_position(
                quantity=m.position.quantity,
                multiplier=m.position.multiplier,
                entry_price=m.position.entry_price,
                price=m.price,
                previous_close=m.previous_close,
            )
        )[1]
        if too_large:
            warnings.append(
                f"{m.position.security_id}: {', '.join(too_large)} too large to represent "
                "(an entry price near zero?); shown as null"
            )
    if unpriced:
        warnings.append(
            "Totals that include unpriced positions are null (total_value, positions_value, "
            f"P&L, day change): no price for {', '.join(sorted(set(unpriced)))}"
        )
    return PortfolioBook(
        portfolio=portfolio,
        as_of=as_of,
        marked=marked,
        cash_balance=cash,
        realized_pnl=realized,
        totals=_totals(open_rows),
        open_positions=open_rows,
        marks=marks if all(is_open) else Marks(*(a[np.array(is_open, dtype=bool)] for a in marks)),
        warnings=warnings,
    )


@dataclass(frozen=True)
class PortfolioListRow:
    portfolio: Portfolio
    positions_count: int
    total_value: Decimal | None  # null when an open position has no price
    cash_balance: Decimal
    unpriced: list[str] = field(default_factory=list)


def portfolios_for_user(
    *, user: User, portfolio_ids: Sequence[UUID] | None = None
) -> list[PortfolioListRow]:
    """Every live portfolio of ``user`` (or those of ``portfolio_ids``) with its value
    (queries independent of count)."""
    owned = Portfolio.objects.owned_by(user)
    if portfolio_ids is not None:
        owned = owned.filter(pk__in=list(portfolio_ids))
    portfolios = list(
        owned.annotate(
            open_count=Count("positions", filter=Q(positions__closed_at__isnull=True))
        ).order_by("-is_default", "created_at")
    )
    ids = [p.id for p in portfolios]
    positions = list(
        Position.objects.filter(portfolio_id__in=ids, closed_at__isnull=True).values_list(
            "portfolio_id", "security_id", "quantity", "multiplier"
        )
    )
    cash = dict(
        Transaction.objects.filter(portfolio_id__in=ids)
        .values_list("portfolio_id")
        .annotate(total=Sum("amount"))
        .values_list("portfolio_id", "total")
    )
    snapshots = price_snapshots(symbols={symbol for _, symbol, _, _ in positions})
    value: dict[Any, Decimal] = {pid: Decimal(0) for pid in ids}
    unpriced: dict[Any, list[str]] = defaultdict(list)
    for portfolio_id, symbol, quantity, multiplier in positions:
        price = mark_price(snapshots.get(symbol), is_option=multiplier > 1)
        if price is None:
            unpriced[portfolio_id].append(symbol)
        else:
            value[portfolio_id] += quantity * price * multiplier
    return [
        PortfolioListRow(
            portfolio=p,
            positions_count=p.open_count,  # type: ignore[attr-defined]
            total_value=None if unpriced[p.id] else value[p.id] + (cash.get(p.id) or Decimal(0)),
            cash_balance=cash.get(p.id) or Decimal(0),
            unpriced=sorted(unpriced[p.id]),
        )
        for p in portfolios
    ]


def position_transactions(*, position: Position) -> list[Transaction]:
    return list(Transaction.objects.filter(position=position).order_by("trade_date", "created_at"))


def data_quality_score(*, book: PortfolioBook, now: dt.datetime | None = None) -> float | None:
    """Share of open positions with a price, in percent (0–100).

    The full data-quality assessment (Greeks, factors, history, freshness) comes with
    the risk engine; until then the score is price coverage alone.
    """
    open_positions = book.open_positions
    if not open_positions:
        return None
    priced = sum(1 for m in open_positions if m.snapshot is not None)
    return round(100.0 * priced / len(open_positions), 1)


def now_utc() -> dt.datetime:
    return timezone.now()


def value_groups(
    rows: list[MarkedPosition], key: Any, always: tuple[str, ...] = ()
) -> dict[str, dict[str, Any]]:
    """Group marked positions by ``key``: count, Σ signed market value, and that value as a
    percent of the Σ signed market value of ``rows`` (net invested value; shorts negative, so
    the groups add up to 100). Fixed categories are always sent. A group holding an unpriced
    position has a null value, and every percentage is null then (its base is unknown)."""
    groups: dict[str, list[Decimal | None]] = defaultdict(list)
    for name in always:
        groups[name] = []
    for m in rows:
        groups[key(m)].append(m.valuation.market_value)

    def total(values: list[Decimal | None]) -> Decimal | None:
        if any(v is None for v in values):
            return None
        return sum((v for v in values if v is not None), Decimal(0))

    sums = {name: total(values) for name, values in groups.items()}
    known = [v for v in sums.values() if v is not None]
    base = sum(known, Decimal(0)) if len(known) == len(sums) else None
    return {
        name: {
            "count": len(values),
            "value": money(sums[name]),
            "percentage": None
            if base is None or sums[name] is None
            else (percent(sums[name], base) if base else Decimal("0.00")),
        }
        for name, values in groups.items()
    }


def position_sector(m: MarkedPosition) -> str:
    if m.position.sector:
        return m.position.sector
    return "Options" if m.position.is_option else "Unclassified"


# ---- the cash ledger (GET /management/portfolios/{id}/transactions) ------------------------

#: Sortable columns of the ledger listing -> the ordering they mean. Ties break in booking
#: order, the order in which ``balance_after`` accumulates.
LEDGER_SORTS: dict[str, tuple[str, ...]] = {
    "date": ("trade_date", "created_at", "id"),
    "amount": ("amount", "trade_date", "created_at", "id"),
    "type": ("kind", "trade_date", "created_at", "id"),
}


def ledger(*, portfolio: Portfolio, sort: str = "date", order: str = "asc") -> QuerySet[Any]:
    """The portfolio's ledger rows as dicts, each with ``balance_after``: the cash balance
    after that entry, a running sum over booking order (date, then entry time), computed
    in SQL over the whole ledger whatever the page or sort. One query per page."""
    running = Window(
        expression=Sum("amount"),
        order_by=[F("trade_date").asc(), F("created_at").asc(), F("id").asc()],
    )
    fields = LEDGER_SORTS[sort]
    ordering = [F(name).asc() if order == "asc" else F(name).desc() for name in fields]
    return (
        Transaction.objects.filter(portfolio=portfolio)
        .annotate(balance_after=running)
        .order_by(*ordering)
        .values(
            "id", "trade_date", "kind", "amount", "symbol", "position_id", "note", "balance_after"
        )
    )


def ledger_entry(*, portfolio: Portfolio, transaction_id: UUID) -> dict[str, Any]:
    """One ledger row in :func:`ledger`'s shape; ``balance_after`` sums every entry booked
    up to it (a filter would cut the window down to the row itself)."""
    row = (
        Transaction.objects.filter(portfolio=portfolio, pk=transaction_id)
        .values("id", "trade_date", "kind", "amount", "symbol", "position_id", "note", "created_at")
        .get()
    )
    before = Q(trade_date__lt=row["trade_date"]) | Q(
        trade_date=row["trade_date"], created_at__lt=row["created_at"]
    )
    before |= Q(trade_date=row["trade_date"], created_at=row["created_at"], id__lte=row["id"])
    total = Transaction.objects.filter(before, portfolio=portfolio).aggregate(t=Sum("amount"))
    row["balance_after"] = total["t"] or Decimal(0)
    return row


@dataclass(frozen=True, slots=True)
class HoldingPeriod:
    """One position over the sessions it was held: from ``entry_date`` (held at its close)
    up to, not including, ``held_until`` (its ``exit_date``, else the date of its soft
    close; None while open). ``quantity`` is the stored one: the current quantity of an
    open position, the last held quantity of a closed one (signed, contracts for options;
    ``multiplier`` converts a per-share price into dollars)."""

    id: UUID
    symbol: str
    position_type: str
    quantity: Decimal
    multiplier: int
    entry_date: dt.date
    held_until: dt.date | None

    def held_on(self, day: dt.date) -> bool:
        return self.entry_date <= day and (self.held_until is None or day < self.held_until)


def holding_periods(
    *, portfolio: Portfolio, start: dt.date | None = None, end: dt.date | None = None
) -> list[HoldingPeriod]:
    """The portfolio's positions, open or closed, held on at least one date of
    ``[start, end]`` (either bound open when None); by symbol, entry date and id.
    One query."""
    query = Position.objects.filter(portfolio=portfolio)
    if end is not None:
        query = query.filter(entry_date__lte=end)
    periods = []
    for row in query.order_by("security_id", "entry_date", "id").values_list(
        "id",
        "security_id",
        "position_type",
        "quantity",
        "multiplier",
        "entry_date",
        "exit_date",
        "closed_at",
    ):
        pk, symbol, kind, quantity, multiplier, entry, exit_date, closed_at = row
        until = exit_date or (closed_at.date() if closed_at is not None else None)
        if until is not None and until <= entry:
            continue  # opened and closed before any close: never held
        if start is not None and until is not None and until <= start:
            continue
        periods.append(HoldingPeriod(pk, symbol, kind, quantity, multiplier, entry, until))
    return periods
