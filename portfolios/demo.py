"""The demo portfolios: the market data they need and their books.

The demo *users* are the accounts app's (``accounts/demo.py``, which calls this module
for each demo user that exists): portfolios sits below accounts and imports it for
types only. Seeding only creates what is missing: a portfolio that already has a book is
left as it is, so running it twice leaves the same state as running it once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils import timezone

from marketdata import calendar
from marketdata import services as marketdata_services
from marketdata.occ import OptionContract
from marketdata.selectors import (
    closes_on,
    factor_etf_symbols,
    latest_closes,
    listed_expiries,
)
from portfolios import services as portfolio_services
from portfolios.models import Portfolio, PortfolioType, Position, Transaction, TransactionKind

if TYPE_CHECKING:  # types only: the user model is the accounts app's
    from accounts.models import User


@dataclass(frozen=True)
class DemoPortfolio:
    name: str
    portfolio_type: str
    description: str


#: Each demo user's portfolio, by the owner's email.
DEMO_PORTFOLIOS: dict[str, DemoPortfolio] = {
    "demo_individual@sigmasight.com": DemoPortfolio(
        "Demo Individual Investor Portfolio",
        PortfolioType.INDIVIDUAL,
        "Stocks, mutual funds and ETFs for a long-term individual investor",
    ),
    "demo_hnw@sigmasight.com": DemoPortfolio(
        "Demo High Net Worth Investor Portfolio",
        PortfolioType.HNW,
        "Large diversified positions in index ETFs, mega caps, gold and commodities",
    ),
    "demo_hedgefundstyle@sigmasight.com": DemoPortfolio(
        "Demo Hedge Fund Style Investor Portfolio",
        PortfolioType.HEDGE_FUND,
        "Long/short equity with options overlays",
    ),
    "demo_admin@sigmasight.com": DemoPortfolio(
        "Demo Admin Portfolio", PortfolioType.OTHER, "The demo admin's own portfolio"
    ),
}


# ---- The demo books ------------------------------------------------------------------------

#: (symbol, quantity) per demo portfolio, from the SigmaSight demo data.
DEMO_HOLDINGS: dict[str, tuple[tuple[str, int], ...]] = {
    "demo_individual@sigmasight.com": (
        ("AAPL", 85),
        ("MSFT", 45),
        ("AMZN", 110),
        ("GOOGL", 115),
        ("TSLA", 70),
        ("NVDA", 25),
        ("JNJ", 105),
        ("JPM", 85),
        ("V", 50),
        ("FXNAX", 4365),
        ("FCNTX", 4853),
        ("FMAGX", 3880),
        ("VTIAX", 970),
        ("VTI", 155),
        ("BND", 315),
        ("VNQ", 205),
    ),
    "demo_hnw@sigmasight.com": (
        ("SPY", 400),
        ("QQQ", 450),
        ("AAPL", 400),
        ("MSFT", 200),
        ("AMZN", 480),
        ("GOOGL", 500),
        ("BRK-B", 180),
        ("JPM", 350),
        ("JNJ", 310),
        ("NVDA", 70),
        ("META", 90),
        ("UNH", 85),
        ("V", 170),
        ("HD", 125),
        ("PG", 250),
        ("GLD", 325),
        ("DJP", 1900),
    ),
    "demo_hedgefundstyle@sigmasight.com": (
        ("NVDA", 800),
        ("MSFT", 1000),
        ("AAPL", 1500),
        ("GOOGL", 1800),
        ("META", 1000),
        ("AMZN", 1400),
        ("TSLA", 800),
        ("AMD", 1200),
        ("BRK-B", 600),
        ("JPM", 1000),
        ("JNJ", 800),
        ("UNH", 200),
        ("V", 350),
        ("NFLX", -600),
        ("SHOP", -1000),
        ("ZM", -2000),
        ("PTON", -3000),
        ("ROKU", -1800),
        ("XOM", -2000),
        ("F", -10000),
        ("GE", -800),
        ("C", -2000),
    ),
}


@dataclass(frozen=True)
class DemoOption:
    """An option leg set relative to the seed date and the underlying's close, so it is live:
    its expiry is the root's first listed expiry at least ``days_out`` calendar days after
    the seed date (``marketdata.selectors.listed_expiries``: real dates only)."""

    underlying: str
    right: str  # "C" or "P"
    contracts: int  # signed
    moneyness: Decimal  # strike / spot before rounding
    days_out: int
    strike_step: Decimal


#: Two legs expire within about two weeks of the seed date (META, TSLA), so the settlement
#: job has something to do in a demo left running; the rest are one to three months out.
DEMO_OPTIONS: tuple[DemoOption, ...] = (
    DemoOption("SPY", "C", 20, Decimal("1.03"), 60, Decimal(5)),
    DemoOption("QQQ", "C", 15, Decimal("1.04"), 60, Decimal(5)),
    DemoOption("^VIX", "C", 50, Decimal("1.25"), 20, Decimal(1)),
    DemoOption("NVDA", "C", 10, Decimal("1.05"), 90, Decimal(5)),
    DemoOption("AAPL", "P", -10, Decimal("0.92"), 60, Decimal(5)),
    DemoOption("MSFT", "P", -5, Decimal("0.92"), 60, Decimal(5)),
    DemoOption("META", "P", -5, Decimal("0.90"), 7, Decimal(5)),
    DemoOption("TSLA", "C", -5, Decimal("1.15"), 10, Decimal(5)),
)

#: Cash kept beside the positions at the first deposit (seed data, not a calculation).
DEMO_CASH_RESERVE: dict[str, Decimal] = {
    "demo_individual@sigmasight.com": Decimal("25000"),
    "demo_hnw@sigmasight.com": Decimal("150000"),
    "demo_hedgefundstyle@sigmasight.com": Decimal("500000"),
}


def option_expiry(underlying: str, seed_date: dt.date, days_out: int) -> dt.date:
    """The first listed expiry of ``underlying``'s options at least ``days_out`` days after
    ``seed_date`` (the reference data; the VIX's are its Wednesday expiries)."""
    start = seed_date + dt.timedelta(days=days_out)
    listed = listed_expiries(underlying, start, start + dt.timedelta(days=62))
    if not listed:
        raise ValueError(f"no listed {underlying} expiry within two months of {start}")
    return listed[0]


def demo_option_symbol(leg: DemoOption, *, spot: Decimal, seed_date: dt.date) -> str:
    strike = (spot * leg.moneyness / leg.strike_step).quantize(Decimal(1)) * leg.strike_step
    contract = OptionContract(
        underlying=leg.underlying.lstrip("^"),
        expiry=option_expiry(leg.underlying, seed_date, leg.days_out),
        right=leg.right,
        strike=strike,
    )
    return contract.occ_symbol


def entry_offset(index: int) -> int:
    """Sessions before the seed date at which demo position ``index`` was opened:
    spread over the past year, deterministic."""
    return 20 + (index * 37) % 230


ZERO_DTE_TICKERS = ("SPY", "QQQ", "IWM")


def _book_demo_positions(
    portfolio: Portfolio, email: str, seed_date: dt.date, option_symbols: list[str]
) -> int:
    """Open the demo holdings at real-history closes, after a deposit that funds them."""
    holdings: list[tuple[str, Decimal]] = [
        (symbol, Decimal(qty)) for symbol, qty in DEMO_HOLDINGS[email]
    ]
    if email == "demo_hedgefundstyle@sigmasight.com":
        holdings += [
            (symbol, Decimal(leg.contracts))
            for symbol, leg in zip(option_symbols, DEMO_OPTIONS, strict=True)
        ]
    sessions = calendar.sessions_between(seed_date - dt.timedelta(days=400), seed_date)
    entry_dates = [
        sessions[-1 - min(entry_offset(i), len(sessions) - 1)] for i in range(len(holdings))
    ]
    option_dates = {s: sessions[-1 - (5 + 3 * k)] for k, s in enumerate(option_symbols)}
    entry_dates = [
        option_dates.get(symbol, date)
        for (symbol, _), date in zip(holdings, entry_dates, strict=True)
    ]
    closes = closes_on(
        pairs={(symbol, date) for (symbol, _), date in zip(holdings, entry_dates, strict=True)}
    )
    multipliers = {symbol: 100 for symbol in option_symbols}
    cost = sum(
        (
            qty * closes[(symbol, date)] * multipliers.get(symbol, 1)
            for (symbol, qty), date in zip(holdings, entry_dates, strict=True)
            if qty > 0
        ),
        Decimal(0),
    )
    first_date = min(entry_dates)
    portfolio_services.cash_transaction(
        portfolio=portfolio,
        kind=TransactionKind.DEPOSIT,
        amount=(cost + DEMO_CASH_RESERVE[email]).quantize(Decimal("0.01")),
        trade_date=first_date,
        note="demo funding: the long purchases plus a cash reserve",
    )
    for (symbol, quantity), date in zip(holdings, entry_dates, strict=True):
        portfolio_services.position_open(
            portfolio=portfolio,
            symbol=symbol,
            quantity=quantity,
            entry_price=closes[(symbol, date)],
            entry_date=date,
            tags=["demo", "option" if symbol in multipliers else "equity"],
            today=seed_date,
        )
    return len(holdings)


def _demo_option_symbols(seed_date: dt.date) -> list[str]:
    """Reuse the options already booked; otherwise strike them from the latest closes."""
    existing = list(
        Position.objects.filter(
            portfolio__owner__email="demo_hedgefundstyle@sigmasight.com", multiplier=100
        )
        .order_by("created_at")
        .values_list("security_id", flat=True)
    )
    if len(existing) == len(DEMO_OPTIONS):
        return existing
    spots = latest_closes(symbols={leg.underlying for leg in DEMO_OPTIONS}, on_or_before=seed_date)
    return [
        demo_option_symbol(leg, spot=spots[leg.underlying], seed_date=seed_date)
        for leg in DEMO_OPTIONS
    ]


def demo_symbols() -> list[str]:
    """Every non-option symbol the demo needs: holdings, option underlyings, factor ETFs,
    the 0DTE tickers."""
    symbols = {symbol for holdings in DEMO_HOLDINGS.values() for symbol, _ in holdings}
    symbols |= {leg.underlying for leg in DEMO_OPTIONS}
    symbols |= set(factor_etf_symbols())
    symbols |= set(ZERO_DTE_TICKERS)
    return sorted(symbols)


@dataclass(frozen=True)
class DemoMarket:
    """The seeded market the demo books are opened in."""

    seed_date: dt.date
    option_symbols: list[str]


def demo_market_data_seed(*, now: dt.datetime | None = None) -> DemoMarket:
    """Load the bars the demo needs up to the last completed session: the symbols of
    :func:`demo_symbols`, then the demo's option contracts struck from those closes."""
    seed_date = calendar.last_completed_session(now or timezone.now())
    marketdata_services.market_data_seed(symbols=demo_symbols(), end=seed_date)
    # The option roots' listed expiries as stored reference data (editable in the admin).
    marketdata_services.listed_expiries_seed(
        roots=[*(leg.underlying for leg in DEMO_OPTIONS), *ZERO_DTE_TICKERS]
    )
    option_symbols = _demo_option_symbols(seed_date)
    marketdata_services.market_data_seed(symbols=option_symbols, end=seed_date)
    return DemoMarket(seed_date, option_symbols)


def demo_portfolio_seed(*, owner: User, market: DemoMarket | None) -> Portfolio:
    """The owner's demo portfolio, created if missing (the default only if the owner has
    none yet), and booked once when there is a ``market`` and the portfolio has no book."""
    spec = DEMO_PORTFOLIOS[owner.email]
    portfolio = Portfolio.objects.filter(owner=owner, name=spec.name, deleted_at=None).first()
    if portfolio is None:
        portfolio = portfolio_services.portfolio_create(
            owner=owner,
            name=spec.name,
            description=spec.description,
            portfolio_type=spec.portfolio_type,
        )
    has_book = Transaction.objects.filter(portfolio=portfolio).exists()
    if market is not None and owner.email in DEMO_HOLDINGS and not has_book:
        _book_demo_positions(portfolio, owner.email, market.seed_date, market.option_symbols)
    return portfolio
