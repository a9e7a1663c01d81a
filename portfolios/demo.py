"""The SigmaSight demo users and their portfolios.

Seeding only creates what is missing: it never changes an existing account (password,
role, active flag, anything), so a demo password changed or a demo user disabled by an
operator stays that way. Running it twice leaves the same state as running it once.
Whether demo accounts may be created at all is the caller's call (``seed_demo``
command: yes in the embedded default, only with ``--demo-users`` in production).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from accounts.password_validation import DEMO_PASSWORD
from accounts.selectors import user_with_email
from accounts.services import seeded_user_create
from marketdata import calendar
from marketdata import services as marketdata_services
from marketdata.models import FactorDefinition, PriceBar
from marketdata.occ import OptionContract
from portfolios import services as portfolio_services
from portfolios.models import Portfolio, PortfolioType, Position, Transaction, TransactionKind
from sigmasight.api.errors import Conflict


@dataclass(frozen=True)
class DemoUser:
    email: str
    full_name: str
    role: str
    portfolio_name: str
    portfolio_type: str
    description: str


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser(
        "demo_individual@sigmasight.com",
        "Demo Individual Investor",
        Role.TRADER,
        "Demo Individual Investor Portfolio",
        PortfolioType.INDIVIDUAL,
        "Stocks, mutual funds and ETFs for a long-term individual investor",
    ),
    DemoUser(
        "demo_hnw@sigmasight.com",
        "Demo HNW User",
        Role.TRADER,
        "Demo High Net Worth Investor Portfolio",
        PortfolioType.HNW,
        "Large diversified positions in index ETFs, mega caps, gold and commodities",
    ),
    DemoUser(
        "demo_hedgefundstyle@sigmasight.com",
        "Demo Hedge Fund Style User",
        Role.TRADER,
        "Demo Hedge Fund Style Investor Portfolio",
        PortfolioType.HEDGE_FUND,
        "Long/short equity with options overlays",
    ),
)

DEMO_ADMIN = DemoUser(
    "demo_admin@sigmasight.com",
    "Demo Admin",
    Role.ADMIN,
    "Demo Admin Portfolio",
    PortfolioType.OTHER,
    "The demo admin's own portfolio",
)


def _demo_user(spec: DemoUser, *, may_create: bool) -> tuple[User | None, str]:
    """The demo account for ``spec`` and what happened to it: "created", "existing", or
    the reason it is absent. An existing account is returned exactly as it is."""
    user = user_with_email(email=spec.email)
    if user is not None:
        return user, "existing"
    if not may_create:
        return None, "not created"
    try:
        user = seeded_user_create(
            email=spec.email,
            password=DEMO_PASSWORD,
            full_name=spec.full_name,
            role=spec.role,
            is_superuser=spec.role == Role.ADMIN,
        )
    except Conflict:
        return None, "not created: the email is another account's username"
    return user, "created"


def _demo_portfolio(user: User, spec: DemoUser) -> Portfolio:
    """The demo portfolio, created if missing (default only if the owner has none yet)."""
    existing = Portfolio.objects.filter(owner=user, name=spec.portfolio_name, deleted_at=None)
    return existing.first() or portfolio_services.portfolio_create(
        owner=user,
        name=spec.portfolio_name,
        description=spec.description,
        portfolio_type=spec.portfolio_type,
    )


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
    """An option leg set relative to the seed date and the underlying's close, so it is live."""

    underlying: str
    right: str  # "C" or "P"
    contracts: int  # signed
    moneyness: Decimal  # strike / spot before rounding
    months_out: int  # expiry: the third Friday this many months after the seed date
    strike_step: Decimal


DEMO_OPTIONS: tuple[DemoOption, ...] = (
    DemoOption("SPY", "C", 20, Decimal("1.03"), 2, Decimal(5)),
    DemoOption("QQQ", "C", 15, Decimal("1.04"), 2, Decimal(5)),
    DemoOption("^VIX", "C", 50, Decimal("1.25"), 1, Decimal(1)),
    DemoOption("NVDA", "C", 10, Decimal("1.05"), 3, Decimal(5)),
    DemoOption("AAPL", "P", -10, Decimal("0.92"), 2, Decimal(5)),
    DemoOption("MSFT", "P", -5, Decimal("0.92"), 2, Decimal(5)),
    DemoOption("META", "P", -5, Decimal("0.90"), 1, Decimal(5)),
    DemoOption("TSLA", "C", -5, Decimal("1.15"), 1, Decimal(5)),
)

#: Cash kept beside the positions at the first deposit (seed data, not a calculation).
DEMO_CASH_RESERVE: dict[str, Decimal] = {
    "demo_individual@sigmasight.com": Decimal("25000"),
    "demo_hnw@sigmasight.com": Decimal("150000"),
    "demo_hedgefundstyle@sigmasight.com": Decimal("500000"),
}


def third_friday(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    offset = (4 - first.weekday()) % 7
    return first + dt.timedelta(days=offset + 14)


def option_expiry(seed_date: dt.date, months_out: int) -> dt.date:
    """The third Friday ``months_out`` months ahead, moved to the prior session if it is a
    holiday (as the OCC does)."""
    month_index = seed_date.month - 1 + months_out
    expiry = third_friday(seed_date.year + month_index // 12, month_index % 12 + 1)
    while not calendar.is_session(expiry):
        expiry -= dt.timedelta(days=1)
    return expiry


def demo_option_symbol(leg: DemoOption, *, spot: Decimal, seed_date: dt.date) -> str:
    strike = (spot * leg.moneyness / leg.strike_step).quantize(Decimal(1)) * leg.strike_step
    contract = OptionContract(
        underlying=leg.underlying.lstrip("^"),
        expiry=option_expiry(seed_date, leg.months_out),
        right=leg.right,
        strike=strike,
    )
    return contract.occ_symbol


def entry_offset(index: int) -> int:
    """Sessions before the seed date at which demo position ``index`` was opened:
    spread over the past year, deterministic."""
    return 20 + (index * 37) % 230


ZERO_DTE_TICKERS = ("SPY", "QQQ", "IWM")


def _closes_on(pairs: set[tuple[str, dt.date]]) -> dict[tuple[str, dt.date], Decimal]:
    """Raw closes for (symbol, date) pairs, in one query."""
    symbols = {symbol for symbol, _ in pairs}
    dates = {date for _, date in pairs}
    rows = PriceBar.objects.filter(security_id__in=symbols, date__in=dates).values_list(
        "security_id", "date", "close"
    )
    return {(symbol, date): close for symbol, date, close in rows}


def _latest_closes(symbols: set[str], on_or_before: dt.date) -> dict[str, Decimal]:
    rows = (
        PriceBar.objects.filter(
            security_id__in=symbols,
            date__lte=on_or_before,
            date__gte=on_or_before - dt.timedelta(days=10),
        )
        .order_by("security_id", "date")
        .values_list("security_id", "close")
    )
    return dict(rows)  # the last (latest) close per symbol wins


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
    closes = _closes_on(
        {(symbol, date) for (symbol, _), date in zip(holdings, entry_dates, strict=True)}
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
    spots = _latest_closes({leg.underlying for leg in DEMO_OPTIONS}, seed_date)
    return [
        demo_option_symbol(leg, spot=spots[leg.underlying], seed_date=seed_date)
        for leg in DEMO_OPTIONS
    ]


def demo_symbols() -> list[str]:
    """Every non-option symbol the demo needs: holdings, option underlyings, factor ETFs,
    the 0DTE tickers."""
    symbols = {symbol for holdings in DEMO_HOLDINGS.values() for symbol, _ in holdings}
    symbols |= {leg.underlying for leg in DEMO_OPTIONS}
    symbols |= set(FactorDefinition.objects.values_list("etf_symbol", flat=True))
    symbols |= set(ZERO_DTE_TICKERS)
    return sorted(symbols)


@dataclass(frozen=True)
class SeededUser:
    email: str
    outcome: str  # "created", "existing", or why there is no such account
    portfolio: Portfolio | None


def seed_demo(
    *,
    create_users: bool,
    include_admin: bool,
    with_market_data: bool = True,
    now: dt.datetime | None = None,
) -> list[SeededUser]:
    """Load the demo's market data, create the missing demo users when ``create_users``
    (the admin too when ``include_admin``), and book each demo portfolio once.

    Existing accounts are never changed. A demo portfolio is created and booked only for
    a demo user that exists (created now or on an earlier run); without one there is
    nothing to book, but the market data is loaded all the same. A portfolio that already
    has a book is left as it is.
    """
    now = now or timezone.now()
    seed_date = calendar.last_completed_session(now)
    if with_market_data:
        marketdata_services.market_data_seed(symbols=demo_symbols(), end=seed_date)
        option_symbols = _demo_option_symbols(seed_date)
        marketdata_services.market_data_seed(symbols=option_symbols, end=seed_date)
    else:
        option_symbols = []
    specs = [*DEMO_USERS, *([DEMO_ADMIN] if include_admin else [])]
    seeded = []
    with transaction.atomic():
        for spec in specs:
            user, outcome = _demo_user(spec, may_create=create_users)
            if user is None:
                seeded.append(SeededUser(spec.email, outcome, None))
                continue
            portfolio = _demo_portfolio(user, spec)
            has_book = Transaction.objects.filter(portfolio=portfolio).exists()
            if with_market_data and spec.email in DEMO_HOLDINGS and not has_book:
                _book_demo_positions(portfolio, spec.email, seed_date, option_symbols)
            seeded.append(SeededUser(spec.email, outcome, portfolio))
    return seeded
