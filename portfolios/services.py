"""Writes to portfolios, positions and the cash ledger.

Every multi-row change is one transaction; the position row is locked while its
quantity changes, so two concurrent closes cannot both fill.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from marketdata import services as marketdata_services
from marketdata.occ import InvalidOptionSymbol, OptionContract, looks_like_option, parse_occ
from marketdata.selectors import (
    is_listed_expiry,
    normalize_symbol,
    price_snapshots,
    security_map,
)
from portfolios.models import (
    Lot,
    Portfolio,
    PortfolioType,
    Position,
    PositionType,
    Transaction,
    TransactionKind,
)
from portfolios.signals import portfolio_changed
from portfolios.valuation import fifo_close, money
from risk.engine.conventions import OPTION_MULTIPLIER
from sigmasight.bulk import bulk_update_rows
from sigmasight.errors import (
    Conflict,
    InsufficientFunds,
    InvalidSymbol,
    PortfolioNotFound,
    ValidationFailed,
)
from sigmasight.limits import (
    MONEY_MAX,
    QUANTITY_MAX,
    STRIKE_MAX,
    STRIKE_SPOT_MULTIPLE,
)

logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # types only: rows come from the owning apps' selectors and services
    from accounts.models import User
    from marketdata.models import Security


@transaction.atomic
def portfolio_create(
    *,
    owner: User,
    name: str,
    description: str = "",
    currency: str = "USD",
    portfolio_type: str = PortfolioType.INDIVIDUAL,
    is_default: bool | None = None,
) -> Portfolio:
    """Create a portfolio; the owner's first one becomes their default.

    The owner's row is locked first, so concurrent creates serialize: the second sees the
    first's default instead of both claiming it (one_default_portfolio_per_owner)."""
    get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
    if is_default is None:
        is_default = not Portfolio.objects.owned_by(owner).filter(is_default=True).exists()
    elif is_default and Portfolio.objects.owned_by(owner).filter(is_default=True).exists():
        raise Conflict("The owner already has a default portfolio")
    return Portfolio.objects.create(
        owner=owner,
        name=name,
        description=description,
        currency=currency.upper(),
        portfolio_type=portfolio_type,
        is_default=is_default,
    )


@transaction.atomic
def portfolio_update(*, portfolio: Portfolio, **changes: Any) -> Portfolio:
    allowed = {"name", "description", "currency", "portfolio_type"}
    for key, value in changes.items():
        if key in allowed and value is not None:
            setattr(portfolio, key, value.upper() if key == "currency" else value)
    portfolio.save()
    return portfolio


@transaction.atomic
def portfolio_soft_delete(*, portfolio: Portfolio) -> None:
    """Hide the portfolio; if it was the default, the owner's oldest other one takes over."""
    portfolio = Portfolio.objects.select_for_update().get(pk=portfolio.pk)
    was_default = portfolio.is_default
    portfolio.deleted_at = timezone.now()
    portfolio.is_default = False
    portfolio.save(update_fields=["deleted_at", "is_default", "updated_at"])
    if was_default:
        successor = Portfolio.objects.owned_by(portfolio.owner).order_by("created_at").first()
        if successor is not None:
            successor.is_default = True
            successor.save(update_fields=["is_default", "updated_at"])


def portfolio_is_empty(*, portfolio: Portfolio) -> bool:
    """No position (open or closed) and no ledger entry: deleting it loses nothing."""
    return not (
        Position.objects.filter(portfolio=portfolio).exists()
        or Transaction.objects.filter(portfolio=portfolio).exists()
    )


@transaction.atomic
def portfolio_delete(*, portfolio: Portfolio, confirm: bool = False) -> None:
    """M3's rules, then the soft delete: the default portfolio is never deleted (409), and
    one with positions or ledger history only with ``confirm`` (409 otherwise)."""
    portfolio = Portfolio.objects.select_for_update().get(pk=portfolio.pk)
    if portfolio.is_default:
        raise Conflict(
            "The default portfolio cannot be deleted",
            details={"portfolio_id": str(portfolio.id), "is_default": True},
        )
    if not confirm and not portfolio_is_empty(portfolio=portfolio):
        raise Conflict(
            "The portfolio holds positions or ledger history; delete with ?confirm=true",
            details={"portfolio_id": str(portfolio.id), "confirm_required": True},
        )
    portfolio_soft_delete(portfolio=portfolio)


#: Anything shaped like root + YYMMDD + a letter is parsed as an option, so a malformed
#: OCC symbol gets a field error rather than "unknown symbol".
OPTION_SHAPE = re.compile(r"^[A-Z][A-Z0-9.]{0,5}[ _]*\d{6}[A-Z]")


def _underlying_prices(
    contracts: Iterable[OptionContract], known: Mapping[str, Decimal] | None = None
) -> dict[str, Decimal]:
    """The latest price of each contract's underlying: those the caller has (``known``,
    by symbol), the rest in one read for all of them."""
    prices = {normalize_symbol(s): price for s, price in (known or {}).items()}
    symbols = {normalize_symbol(c.underlying) for c in contracts} - set(prices)
    snapshots = price_snapshots(symbols=symbols) if symbols else {}
    prices.update({s: snap.price for s, snap in snapshots.items() if snap.price is not None})
    return prices


def _validate_option(
    contract: OptionContract,
    *,
    today: dt.date,
    spot: Decimal | None,
    listed: dict[tuple[str, dt.date], bool],
) -> None:
    """Whether an OCC contract may be booked; ValidationFailed on ``symbol`` otherwise.

    The one place for contract rules:
    * not expired;
    * on a listed expiry of its root (``listed`` remembers the answers of one booking,
      so a package's legs on one expiry ask once);
    * the strike is plausible: within STRIKE_SPOT_MULTIPLE (10×) of the underlying's
      latest price ``spot`` either way, or at most STRIKE_MAX without a stored price. So
      ``SPY270115C99999999`` (a 99,999.999 strike on a ~550 ETF) is refused instead of
      entering the book, where no model can price it.
    """
    if contract.expiry < today:
        raise ValidationFailed({"symbol": [f"The option expired on {contract.expiry.isoformat()}"]})
    # Only real expiries: the root's listed dates are reference data (RISK-MODEL).
    key = (contract.underlying, contract.expiry)
    if key not in listed:
        listed[key] = is_listed_expiry(contract.underlying, contract.expiry)
    if not listed[key]:
        raise ValidationFailed(
            {
                "symbol": [
                    f"{contract.expiry.isoformat()} is not a listed expiry "
                    f"for {contract.underlying} options"
                ]
            }
        )
    if spot is not None and spot > 0:
        low, high = spot / STRIKE_SPOT_MULTIPLE, spot * STRIKE_SPOT_MULTIPLE
        if not low <= contract.strike <= high:
            raise ValidationFailed(
                {
                    "symbol": [
                        f"Strike {contract.strike} is implausible for {contract.underlying} "
                        f"at {spot.quantize(Decimal('0.01'))}: it must be within "
                        f"{STRIKE_SPOT_MULTIPLE}x of the underlying's price "
                        f"({low.quantize(Decimal('0.01'))}–{high.quantize(Decimal('0.01'))})"
                    ]
                }
            )
    elif contract.strike > STRIKE_MAX:
        raise ValidationFailed(
            {"symbol": [f"Strike {contract.strike} is above the largest accepted, {STRIKE_MAX}"]}
        )


def _validate_contracts(quantity: Decimal | None, *, field: str = "quantity") -> None:
    """Options trade in whole contracts."""
    if quantity is not None and quantity != quantity.to_integral_value():
        raise ValidationFailed({field: ["Option quantities are whole contracts"]})


def _validate_money(*, quantity: Decimal, price: Decimal, multiplier: int, field: str) -> None:
    """quantity × price × multiplier must fit the ledger's amount column: a 422 here, not a
    database error after the position row was written."""
    if abs(quantity * price * multiplier) >= MONEY_MAX:
        raise ValidationFailed(
            {field: [f"quantity × price × multiplier must be below {MONEY_MAX:,} dollars"]}
        )


def _securities_for(
    symbols: Sequence[str],
    *,
    today: dt.date,
    underlying_prices: Mapping[str, Decimal] | None = None,
) -> list[tuple[Security, Any]]:
    """The stored security for each symbol (an option's from its OCC symbol, with its
    parsed contract; None for an equity), or 422. A package's options are validated
    against one read of their underlyings' prices (those not in ``underlying_prices``)
    and looked up in one query."""
    cleaned = [symbol.strip().upper() for symbol in symbols]
    contracts: dict[str, OptionContract] = {}
    for symbol in cleaned:
        if looks_like_option(symbol) or OPTION_SHAPE.match(symbol):
            try:
                contracts[symbol] = parse_occ(symbol)
            except InvalidOptionSymbol as exc:
                raise ValidationFailed({"symbol": [str(exc)]}) from exc
    spots = _underlying_prices(contracts.values(), underlying_prices)
    listed: dict[tuple[str, dt.date], bool] = {}
    for contract in contracts.values():
        spot = spots.get(normalize_symbol(contract.underlying))
        _validate_option(contract, today=today, spot=spot, listed=listed)
    stored = security_map(symbols=[c.occ_symbol for c in contracts.values()])
    resolved: list[tuple[Security, Any]] = []
    for symbol in cleaned:
        contract = contracts.get(symbol)
        if contract is None:
            equity = marketdata_services.equity_security_ensure(symbol=symbol)
            if equity is None:
                raise InvalidSymbol(f"Unknown symbol {symbol}", details={"symbol": symbol})
            resolved.append((equity, None))
            continue
        option = stored.get(contract.occ_symbol)
        if option is None:
            try:
                option = marketdata_services.option_security_ensure(symbol=contract.occ_symbol)
            except Exception as exc:
                raise InvalidSymbol(
                    f"Unknown option underlying {contract.underlying}",
                    details={"symbol": symbol, "underlying": contract.underlying},
                ) from exc
        resolved.append((option, contract))
    return resolved


def _security_for(symbol: str, *, today: dt.date) -> tuple[Security, Any]:
    """The stored security for a symbol (an option's from its OCC symbol), or 422."""
    [resolved] = _securities_for([symbol], today=today)
    return resolved


def _position_type(*, option: Any, quantity: Decimal) -> str:
    if option is None:
        return PositionType.LONG if quantity > 0 else PositionType.SHORT
    if option.is_call:
        return PositionType.LC if quantity > 0 else PositionType.SC
    return PositionType.LP if quantity > 0 else PositionType.SP


def _trade_cash(quantity: Decimal, price: Decimal, multiplier: int, fees: Decimal) -> Decimal:
    """Cash flow of a trade: buying (quantity > 0) pays, selling receives; fees always pay."""
    return money(-(quantity * price * multiplier) - fees)  # type: ignore[return-value]


def _validate_trade(
    *, quantity: Decimal, price: Decimal, trade_date: dt.date, today: dt.date
) -> None:
    errors: dict[str, list[str]] = {}
    if quantity == 0:
        errors["quantity"] = ["Quantity must not be zero"]
    if price < 0:
        errors["entry_price"] = ["Price must not be negative"]
    if trade_date > today:
        errors["entry_date"] = ["The date must not be in the future"]
    if errors:
        raise ValidationFailed(errors)


def _position_new(
    *,
    portfolio: Portfolio,
    security: Security,
    option: Any,
    quantity: Decimal,
    multiplier: int,
    entry_price: Decimal,
    entry_date: dt.date,
    tags: list[str] | None,
) -> Position:
    """An unsaved position (the caller inserts it)."""
    return Position(
        portfolio=portfolio,
        security=security,
        position_type=_position_type(option=option, quantity=quantity),
        quantity=quantity,
        multiplier=multiplier,
        underlying_symbol=option.underlying if option else None,
        strike=option.strike if option else None,
        expiry=option.expiry if option else None,
        entry_price=entry_price,
        entry_date=entry_date,
        tags=sorted(set(tags or [])),
    )


@dataclass(frozen=True)
class PositionOpen:
    """One position to open or add to: ``quantity`` signed (negative sells: a short),
    contracts for an option; ``entry_price`` per share; ``fees`` in dollars, paid."""

    symbol: str
    quantity: Decimal
    entry_price: Decimal
    fees: Decimal = Decimal(0)


def position_open(
    *,
    portfolio: Portfolio,
    symbol: str,
    quantity: Decimal,
    entry_price: Decimal,
    entry_date: dt.date,
    tags: list[str] | None = None,
    fees: Decimal = Decimal(0),
    today: dt.date | None = None,
) -> Position:
    """Open a position (or add a lot to an open one on the same side) and book its cash:
    :func:`positions_open` of one."""
    [position] = positions_open(
        portfolio=portfolio,
        opens=[PositionOpen(symbol, quantity, entry_price, fees)],
        entry_date=entry_date,
        tags=tags,
        today=today,
    )
    return position


@transaction.atomic
def positions_open(
    *,
    portfolio: Portfolio | UUID | str,
    opens: Sequence[PositionOpen],
    entry_date: dt.date,
    tags: list[str] | None = None,
    today: dt.date | None = None,
    underlying_prices: Mapping[str, Decimal] | None = None,
    cash_required: Decimal | None = None,
) -> list[Position]:
    """Open positions (or add lots to open ones on the same side) and book their cash,
    all or none: a multi-leg package books as one write (the positions returned in the
    order of ``opens``). ``underlying_prices``: the options' underlying prices where the
    caller has a fresher one than the stored quotes (a 0DTE fill's chain spot), for the
    strike check. ``portfolio``: the portfolio, or the id of one the caller is entitled
    to book in (a trading account's paper portfolio), read here under its lock (a
    deleted one is 404). ``cash_required``: dollars its cash balance, read under that
    lock, must cover (``InsufficientFunds`` with ``required`` and ``available``
    otherwise), so that no other booking spends the cash between the check and this one.

    The portfolio row is locked first, so concurrent adds to one portfolio serialize: the
    second sees the first's open position (and adds to it, or is refused the other side)
    instead of both inserting one. The partial unique constraint one_open_position_per_symbol
    backs this up in the database. New rows are inserted in bulk (a lot and a ledger row
    each), and the portfolio's version advances once."""
    today = today or timezone.localdate()
    for leg in opens:
        _validate_trade(
            quantity=leg.quantity, price=leg.entry_price, trade_date=entry_date, today=today
        )
    resolved = _securities_for(
        [leg.symbol for leg in opens], today=today, underlying_prices=underlying_prices
    )
    if len({security.pk for security, _ in resolved}) != len(resolved):
        raise ValidationFailed({"symbol": ["Each security is opened once in one booking"]})
    for leg, (_, option) in zip(opens, resolved, strict=True):
        multiplier = OPTION_MULTIPLIER if option is not None else 1
        if option is not None:
            _validate_contracts(leg.quantity)
        _validate_money(
            quantity=leg.quantity, price=leg.entry_price, multiplier=multiplier, field="quantity"
        )
    key = portfolio.pk if isinstance(portfolio, Portfolio) else portfolio
    locked = Portfolio.objects.active().select_for_update().filter(pk=key).first()
    if locked is None:
        raise PortfolioNotFound()
    portfolio = locked
    if cash_required is not None:
        available = _cash_balance(portfolio)
        if available < cash_required:
            raise InsufficientFunds(
                details={"required": str(cash_required), "available": str(available)}
            )
    existing = {
        p.security_id: p
        for p in Position.objects.select_for_update().filter(
            portfolio=portfolio,
            security__in=[security for security, _ in resolved],
            closed_at__isnull=True,
        )
    }
    positions: list[Position] = []
    created: list[Position] = []
    added: list[Position] = []
    lots: list[Lot] = []
    ledger: list[Transaction] = []
    for leg, (security, option) in zip(opens, resolved, strict=True):
        multiplier = OPTION_MULTIPLIER if option is not None else 1
        position = existing.get(security.symbol)
        adding = position is not None
        if position is not None:
            _position_add(position, leg, multiplier=multiplier, entry_date=entry_date, tags=tags)
            added.append(position)
        else:
            position = _position_new(
                portfolio=portfolio,
                security=security,
                option=option,
                quantity=leg.quantity,
                multiplier=multiplier,
                entry_price=leg.entry_price,
                entry_date=entry_date,
                tags=tags,
            )
            created.append(position)
        positions.append(position)
        lots.append(
            Lot(
                position=position,
                open_date=entry_date,
                price=leg.entry_price,
                quantity=leg.quantity,
                remaining=leg.quantity,
            )
        )
        ledger.append(
            Transaction(
                portfolio=portfolio,
                position=position,
                kind=TransactionKind.BUY if leg.quantity > 0 else TransactionKind.SELL,
                symbol=security.symbol,
                quantity=leg.quantity,
                price=leg.entry_price,
                fees=leg.fees,
                amount=_trade_cash(leg.quantity, leg.entry_price, multiplier, leg.fees),
                trade_date=entry_date,
                note="add" if adding else "open",
            )
        )
    if created:
        try:
            with transaction.atomic():  # a savepoint: the constraint's failure stays local
                Position.objects.bulk_create(created)
        except IntegrityError as exc:  # only without the lock (a direct ORM write)
            raise Conflict(
                "An open position in one of the securities exists",
                details={"symbols": [p.security_id for p in created]},
            ) from exc
    if added:
        bulk_update_rows(added, ["entry_price", "quantity", "entry_date", "tags", "updated_at"])
    Lot.objects.bulk_create(lots)
    Transaction.objects.bulk_create(ledger)
    # Bulk writes send no post_save: the version bump the row signals would make.
    portfolio_changed(portfolio.pk, portfolio.owner_id)
    return positions


def _position_add(
    position: Position, leg: PositionOpen, *, multiplier: int, entry_date: dt.date, tags: Any
) -> None:
    """Add ``leg`` to the open ``position`` (locked) on the same side: the average entry
    price, the earliest entry date, the union of the tags (the caller saves it)."""
    if (position.quantity > 0) != (leg.quantity > 0):
        raise Conflict(
            f"An open {position.position_type} position in {position.security_id} exists; "
            "close it or reduce it instead of opening the other side",
            details={"position_id": str(position.id)},
        )
    total = position.quantity + leg.quantity
    if abs(total) > QUANTITY_MAX:
        raise ValidationFailed(
            {"quantity": [f"The position would exceed {QUANTITY_MAX:,} in size"]}
        )
    _validate_money(
        quantity=total,
        price=max(position.entry_price, leg.entry_price),
        multiplier=multiplier,
        field="quantity",
    )
    position.entry_price = (
        position.quantity * position.entry_price + leg.quantity * leg.entry_price
    ) / total
    position.quantity = total
    position.entry_date = min(position.entry_date, entry_date)
    if tags:
        position.tags = sorted(set(position.tags) | set(tags))
    position.updated_at = timezone.now()  # bulk_update skips auto_now


@transaction.atomic
def position_update(
    *,
    position: Position,
    quantity: Decimal | None = None,
    entry_price: Decimal | None = None,
    entry_date: dt.date | None = None,
    tags: list[str] | None = None,
    today: dt.date | None = None,
) -> Position:
    """Correct a position's entry. Tags can always change; quantity, price and date only
    while the position is open with a single, untouched lot (the opening trade is
    rewritten, cash included). Anything else is a new trade: open or close instead."""
    today = today or timezone.localdate()
    position = Position.objects.select_for_update().get(pk=position.pk)
    if tags is not None:
        position.tags = sorted(set(tags))
    if quantity is not None or entry_price is not None or entry_date is not None:
        if not position.is_active:
            raise Conflict("A closed position cannot be edited")
        lots = list(position.lots.all())
        opening = list(
            position.transactions.filter(kind__in=[TransactionKind.BUY, TransactionKind.SELL])
        )
        if len(lots) != 1 or lots[0].remaining != lots[0].quantity or len(opening) != 1:
            raise Conflict(
                "This position has several lots or partial closes; trade instead of editing"
            )
        new_quantity = quantity if quantity is not None else position.quantity
        new_price = entry_price if entry_price is not None else position.entry_price
        new_date = entry_date if entry_date is not None else position.entry_date
        _validate_trade(quantity=new_quantity, price=new_price, trade_date=new_date, today=today)
        if position.is_option:
            _validate_contracts(new_quantity)
        _validate_money(
            quantity=new_quantity,
            price=new_price,
            multiplier=position.multiplier,
            field="quantity" if quantity is not None else "entry_price",
        )
        if (new_quantity > 0) != (position.quantity > 0):
            raise ValidationFailed(
                {"quantity": ["The sign of the quantity (long/short) cannot change"]}
            )
        position.quantity, position.entry_price, position.entry_date = (
            new_quantity,
            new_price,
            new_date,
        )
        lot, trade = lots[0], opening[0]
        lot.quantity = lot.remaining = new_quantity
        lot.price, lot.open_date = new_price, new_date
        lot.save()
        trade.quantity, trade.price, trade.trade_date = new_quantity, new_price, new_date
        trade.amount = _trade_cash(new_quantity, new_price, position.multiplier, trade.fees)
        trade.save()
    position.save()
    return position


@transaction.atomic
def position_close(
    *,
    position: Position,
    exit_price: Decimal | None = None,
    exit_date: dt.date | None = None,
    quantity: Decimal | None = None,
    fees: Decimal = Decimal(0),
    today: dt.date | None = None,
) -> Transaction:
    """Close all (or ``quantity`` of) a position at ``exit_price`` (default: the latest
    quote), consuming lots FIFO, booking the realized P&L and the cash flow."""
    today = today or timezone.localdate()
    position = Position.objects.select_for_update().get(pk=position.pk)
    if not position.is_active:
        raise Conflict("The position is already closed")
    exit_date = exit_date or today
    if exit_price is None:
        snapshot = price_snapshots(symbols=[position.security_id]).get(position.security_id)
        if snapshot is None:
            raise ValidationFailed({"exit_price": ["No quote is available; give an exit price"]})
        exit_price = snapshot.price
    errors: dict[str, list[str]] = {}
    if exit_price < 0:
        errors["exit_price"] = ["Price must not be negative"]
    if exit_date > today:
        errors["exit_date"] = ["The date must not be in the future"]
    if exit_date < position.entry_date:
        errors["exit_date"] = ["The exit date is before the entry date"]
    open_size = abs(position.quantity)
    size = open_size if quantity is None else quantity
    if size <= 0 or size > open_size:
        errors["quantity"] = [f"Quantity must be between 0 and {open_size}"]
    elif position.is_option and size != size.to_integral_value():
        errors["quantity"] = ["Option quantities are whole contracts"]
    if abs(size * exit_price * position.multiplier) >= MONEY_MAX:
        errors["exit_price"] = [f"quantity × price × multiplier must be below {MONEY_MAX:,}"]
    if errors:
        raise ValidationFailed(errors)
    lots = list(position.lots.select_for_update().exclude(remaining=0))
    fills = fifo_close(
        [(lot.remaining, lot.price) for lot in lots],
        quantity=size,
        exit_price=exit_price,
        multiplier=position.multiplier,
    )
    for fill in fills:
        lot = lots[fill.lot_index]
        lot.remaining -= fill.quantity
        lot.save(update_fields=["remaining"])
    closed_signed = sum((fill.quantity for fill in fills), Decimal(0))
    realized = money(sum((fill.realized_pnl for fill in fills), Decimal(0)) - fees)
    trade = Transaction.objects.create(
        portfolio=position.portfolio,
        position=position,
        kind=TransactionKind.SELL if closed_signed > 0 else TransactionKind.BUY,
        symbol=position.security_id,
        quantity=-closed_signed,
        price=exit_price,
        fees=fees,
        amount=_trade_cash(-closed_signed, exit_price, position.multiplier, fees),
        realized_pnl=realized,
        trade_date=exit_date,
        note="close" if size == open_size else "partial close",
    )
    if closed_signed == position.quantity:
        # Fully closed: the row keeps the size last held, for the record.
        position.closed_at = timezone.now()
        position.exit_price = exit_price
        position.exit_date = exit_date
    else:
        position.quantity -= closed_signed
    position.save()
    return trade


@transaction.atomic
def cash_transaction(
    *,
    portfolio: Portfolio,
    kind: str,
    amount: Decimal,
    trade_date: dt.date,
    note: str = "",
    today: dt.date | None = None,
) -> Transaction:
    """Deposit, withdrawal, dividend or fee: ``amount`` is positive; the sign follows the kind.
    Given ``today`` (the API gives the current date), a later ``trade_date`` is refused.

    An outflow locks the portfolio row and is refused (INSUFFICIENT_FUNDS) beyond the cash
    balance, so two concurrent withdrawals cannot overspend: the second waits for the first
    and sees its balance."""
    if amount <= 0:
        raise ValidationFailed({"amount": ["Amount must be positive"]})
    if amount >= MONEY_MAX:
        raise ValidationFailed({"amount": [f"Amount must be below {MONEY_MAX:,}"]})
    if today is not None and trade_date > today:
        raise ValidationFailed({"date": ["The date must not be in the future"]})
    Portfolio.objects.select_for_update().filter(pk=portfolio.pk).first()
    inflow = kind in (TransactionKind.DEPOSIT, TransactionKind.DIVIDEND)
    if kind == TransactionKind.WITHDRAWAL:
        balance = _cash_balance(portfolio)
        if amount > balance:
            raise InsufficientFunds(
                f"Withdrawal of {money(amount)} exceeds the cash balance of {money(balance)}",
                details={
                    "field": "amount",
                    "cash_balance": float(money(balance) or 0),
                    "requested": float(amount),
                },
            )
    signed = amount if inflow else -amount
    return Transaction.objects.create(
        portfolio=portfolio, kind=kind, amount=money(signed), trade_date=trade_date, note=note
    )


def _cash_balance(portfolio: Portfolio) -> Decimal:
    total = Transaction.objects.filter(portfolio=portfolio).aggregate(total=Sum("amount"))
    return total["total"] or Decimal(0)


def position_price_on_booking(*, position: Position) -> list[str]:
    """Fetch a quote for a just-booked position that has no price yet (and for an option's
    underlying), through the configured provider chain, so the next read values it.

    Runs after the booking committed: a provider that fails or has no quote leaves the
    position booked and unpriced, and the returned warnings say so (never an error)."""
    symbol = position.security_id
    underlying = (
        normalize_symbol(position.underlying_symbol) if position.underlying_symbol else None
    )
    priced = price_snapshots(symbols=[symbol, *([underlying] if underlying else [])])
    if symbol in priced:
        return []
    # The underlying only when it is unpriced too: a stored mark is not replaced as a side
    # effect of booking an option on it.
    wanted = [symbol, *([underlying] if underlying and underlying not in priced else [])]
    try:
        quoted = marketdata_services.quotes_refresh(
            provider=marketdata_services.get_provider(), symbols=wanted
        )
    except Exception as exc:  # noqa: BLE001  any provider failure: the booking stands, unpriced
        logger.warning("position_price_on_booking: %s not quoted: %s", symbol, exc)
        return [f"No price for {symbol}: the quote provider failed ({type(exc).__name__})"]
    if quoted == 0 or price_snapshots(symbols=[symbol]).get(symbol) is None:
        return [f"No price for {symbol}: the quote provider has none; its value is null"]
    return []


@transaction.atomic
def split_apply(*, symbol: str, ratio: Decimal, ex_date: dt.date) -> int:
    """Apply a split (``ratio`` new shares per old) to positions opened before ``ex_date``:
    quantities multiply and entry prices divide, so P&L is continuous across it."""
    if ratio <= 0:
        raise ValidationFailed({"ratio": ["Ratio must be positive"]})
    positions = list(
        Position.objects.select_for_update().filter(
            security_id=symbol, closed_at__isnull=True, entry_date__lt=ex_date
        )
    )
    for position in positions:
        position.quantity *= ratio
        position.entry_price /= ratio
        position.save(update_fields=["quantity", "entry_price", "updated_at"])
        for lot in position.lots.select_for_update().filter(open_date__lt=ex_date):
            lot.quantity *= ratio
            lot.remaining *= ratio
            lot.price /= ratio
            lot.save(update_fields=["quantity", "remaining", "price"])
    return len(positions)
