"""Reads: snapshots (change, split adjustment, 52-week range, query bound), statistics."""

from __future__ import annotations

import datetime as dt
import gzip
import math
from decimal import Decimal

import pandas as pd
import pytest
from django.utils import timezone

from marketdata import calendar, selectors, services
from marketdata.models import AssetType, PriceBar, Quote, Security
from marketdata.selectors import history_statistics, price_snapshots
from marketdata.tests.factories import QuoteFactory, SecurityFactory, bars
from sigmasight.errors import InvalidSymbol

pytestmark = pytest.mark.django_db

BOKEH = selectors.SEED_DIR / "bokeh_stocks.csv.gz"


def _recent_sessions(n: int) -> list[dt.date]:
    """The last ``n`` completed NYSE sessions, oldest first."""
    last = calendar.last_completed_session(timezone.now())
    return calendar.sessions_between(last - dt.timedelta(days=3 * n + 10), last)[-n:]


# --------------------------------------------------------------------------- statistics


def _bar(close: str, adj: str | None = None, volume: int | None = None) -> dict:
    return {"close": Decimal(close), "adj_close": Decimal(adj or close), "volume": volume}


def test_statistics_hand_computed_three_bars() -> None:
    stats = history_statistics([_bar("100", volume=1000), _bar("110", volume=2000), _bar("99")])
    assert stats["period_return"] == pytest.approx(-0.01)
    # returns +10%, -10%: mean 0, sample variance 0.02, x sqrt(252) -> sqrt(5.04)
    assert stats["volatility"] == pytest.approx(math.sqrt(5.04))
    assert stats["max_price"] == Decimal("110") and stats["min_price"] == Decimal("99")
    assert stats["avg_volume"] == 1500  # the bar without a volume is left out


def test_statistics_hand_computed_four_bars() -> None:
    stats = history_statistics([_bar(c) for c in ("50", "51", "52.02", "50.9796")])
    assert stats["period_return"] == pytest.approx(0.019592)
    # returns +2%, +2%, -2%: mean 0.02/3, sample variance 0.0016/3, annualized x 252
    assert stats["volatility"] == pytest.approx(math.sqrt(0.0016 / 3 * 252))
    assert stats["avg_volume"] is None


def test_statistics_use_adjusted_close_for_returns_and_raw_close_for_range() -> None:
    # AAPL across its 2005 split: the raw close halves, the adjusted close does not.
    stats = history_statistics([_bar("88.99", "5.7182"), _bar("44.86", "5.7651")])
    assert stats["period_return"] == pytest.approx(5.7651 / 5.7182 - 1)
    assert stats["volatility"] is None  # one return: no sample standard deviation
    assert stats["max_price"] == Decimal("88.99") and stats["min_price"] == Decimal("44.86")


def test_statistics_of_nothing_are_null() -> None:
    assert history_statistics([]) == {
        "period_return": None,
        "volatility": None,
        "max_price": None,
        "min_price": None,
        "avg_volume": None,
    }


# --------------------------------------------------------------------------- snapshots


def test_snapshot_as_of_is_the_bar_close_against_the_bar_before() -> None:
    bars(
        "AAA",
        [
            (dt.date(2025, 9, 3), "171.15"),
            (dt.date(2025, 9, 4), "174.65"),
            (dt.date(2025, 9, 5), "175.25"),
            (dt.date(2025, 9, 8), "180.00"),
        ],
    )
    snap = price_snapshots(symbols=["AAA"], as_of=dt.date(2025, 9, 7), year_range=True)["AAA"]
    assert snap.price == Decimal("175.25") and snap.price_date == dt.date(2025, 9, 5)
    assert snap.previous_close == Decimal("174.65") and snap.previous_date == dt.date(2025, 9, 4)
    assert snap.change == Decimal("0.60")
    assert float(snap.change_percent) == pytest.approx(0.60 / 174.65 * 100)  # percent
    assert snap.last_updated == dt.datetime(2025, 9, 5, 20, 0, tzinfo=dt.UTC)  # 16:00 EDT
    assert snap.year_high == Decimal("175.25") * Decimal("1.01")
    assert snap.year_low == Decimal("171.15") * Decimal("0.99")
    assert snap.bid is None and snap.source == "test"


def test_live_snapshot_uses_the_quote_against_the_last_bar_before_its_session() -> None:
    previous, today = _recent_sessions(2)
    bars("AAA", [(previous, "174.65"), (today, "175.00")])
    stamp = calendar.session_close_utc(today)
    QuoteFactory(
        security=SecurityFactory(symbol="AAA"),
        last=Decimal("175.25"),
        timestamp=stamp,
        volume=58432100,
    )
    snap = price_snapshots(symbols=["AAA"], year_range=True)["AAA"]
    assert snap.price == Decimal("175.25") and snap.price_date == today
    assert snap.previous_close == Decimal("174.65")
    assert snap.bid == Decimal("99.95") and snap.volume == 58432100
    assert snap.day_high == Decimal("175.00") * Decimal("1.01")
    assert snap.last_updated == stamp
    assert snap.year_high == Decimal("176.75")  # the day's bar high (175 x 1.01)


def test_quote_without_last_is_priced_at_the_mid() -> None:
    (day,) = _recent_sessions(1)
    SecurityFactory(symbol="AAA")
    QuoteFactory(
        security=SecurityFactory(symbol="AAA"),
        last=None,
        bid=Decimal("10"),
        ask=Decimal("10.5"),
        timestamp=calendar.session_close_utc(day),
    )
    snap = price_snapshots(symbols=["AAA"])["AAA"]
    assert snap.price == Decimal("10.25") and snap.previous_close is None


def test_a_quote_without_a_bid_is_priced_at_half_the_ask() -> None:
    (day,) = _recent_sessions(1)
    QuoteFactory(
        security=SecurityFactory(symbol="AAA"),
        last=None,
        bid=Decimal("0"),
        ask=Decimal("0.01"),
        timestamp=calendar.session_close_utc(day),
    )
    assert price_snapshots(symbols=["AAA"])["AAA"].price == Decimal("0.005")


def test_bars_fresher_than_the_quote_win() -> None:
    older, previous, today = _recent_sessions(3)
    bars("AAA", [(previous, "50"), (today, "51")])
    QuoteFactory(
        security=SecurityFactory(symbol="AAA"),
        last=Decimal("49"),
        timestamp=calendar.session_close_utc(older),
    )
    snap = price_snapshots(symbols=["AAA"])["AAA"]
    assert snap.price == Decimal("51") and snap.previous_close == Decimal("50")


def test_the_52_week_range_is_read_only_when_asked_for() -> None:
    previous, today = _recent_sessions(2)
    bars("AAA", [(today - dt.timedelta(days=200), "300"), (previous, "50"), (today, "51")])
    plain = price_snapshots(symbols=["AAA"])["AAA"]
    assert plain.year_high is None and plain.year_low is None
    ranged = price_snapshots(symbols=["AAA"], year_range=True)["AAA"]
    assert ranged.year_high == Decimal("303")  # 300 x 1.01, 200 days back
    assert (plain.price, plain.previous_close) == (ranged.price, ranged.previous_close)


def test_a_symbol_whose_last_bars_are_old_is_still_priced_from_them() -> None:
    # Halted or delisted: nothing in the recent window, so its last bar date is looked up.
    (today,) = _recent_sessions(1)
    old = today - dt.timedelta(days=60)
    bars("OLD", [(old - dt.timedelta(days=1), "20"), (old, "21")])
    bars("NEW", [(today, "5")])
    snaps = price_snapshots(symbols=["OLD", "NEW"])
    assert snaps["OLD"].price == Decimal("21") and snaps["OLD"].price_date == old
    assert snaps["OLD"].previous_close == Decimal("20")
    assert snaps["NEW"].price == Decimal("5") and snaps["NEW"].previous_close is None


def test_symbols_without_data_are_absent() -> None:
    SecurityFactory(symbol="EMPTY")
    assert price_snapshots(symbols=["EMPTY", "UNKNOWN"]) == {}
    assert price_snapshots(symbols=[]) == {}


def _load_bokeh(symbol: str, dates: list[str]) -> None:
    """Real bars from the shipped bokeh file (raw close, as traded)."""
    with gzip.open(BOKEH, "rt") as handle:
        frame = pd.read_csv(handle, dtype={"date": str})
    frame = frame[(frame["symbol"] == symbol) & frame["date"].isin(dates)].copy()
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    assert len(frame) == len(dates)
    SecurityFactory(symbol=symbol)
    PriceBar.objects.bulk_create(services._bars_from_frame(frame))


def test_previous_close_is_split_adjusted_across_the_real_aapl_split() -> None:
    _load_bokeh("AAPL", ["2005-02-25", "2005-02-28"])
    services.corporate_action_record(
        symbol="AAPL",
        action_type="SPLIT",
        ex_date=dt.date(2005, 2, 28),
        ratio=Decimal(2),
        source="test",
    )
    snap = price_snapshots(symbols=["AAPL"], as_of=dt.date(2005, 2, 28), year_range=True)["AAPL"]
    assert snap.price == Decimal("44.86")
    assert snap.previous_close == Decimal("44.495")  # 88.99 / 2
    assert snap.change == Decimal("0.365")
    assert float(snap.change_percent) == pytest.approx(0.365 / 44.495 * 100)  # 0.82%, not -49.6%
    # The 52-week range is on the post-split basis too: 89.91 / 2 < 45.14, 88.19 / 2 > 43.96.
    assert snap.year_high == Decimal("45.14") and snap.year_low == Decimal("43.96")


def test_without_the_split_record_the_raw_change_shows() -> None:
    _load_bokeh("AAPL", ["2005-02-25", "2005-02-28"])
    snap = price_snapshots(symbols=["AAPL"], as_of=dt.date(2005, 2, 28), year_range=True)["AAPL"]
    assert snap.previous_close == Decimal("88.99")
    assert snap.year_high == Decimal("89.91")


def test_snapshots_for_500_symbols_take_at_most_four_queries(
    django_assert_max_num_queries: object,
) -> None:
    previous, today = _recent_sessions(2)
    symbols = [f"S{i:03d}" for i in range(500)]
    Security.objects.bulk_create(
        Security(symbol=s, asset_type=AssetType.STOCK, shares_outstanding=1000) for s in symbols
    )
    PriceBar.objects.bulk_create(
        PriceBar(
            security_id=s, date=d, close=Decimal(10 + i), adj_close=Decimal(10 + i), source="t"
        )
        for s in symbols
        for i, d in enumerate((previous, today))
    )
    stamp = calendar.session_close_utc(today)
    Quote.objects.bulk_create(
        Quote(security_id=s, last=Decimal("12"), timestamp=stamp, source="t") for s in symbols[::2]
    )
    services.corporate_action_record(
        symbol="S001", action_type="SPLIT", ex_date=today, ratio=Decimal(2), source="t"
    )
    with django_assert_max_num_queries(4):  # type: ignore[operator]
        snaps = price_snapshots(symbols=symbols)
    assert len(snaps) == 500
    assert snaps["S000"].price == Decimal("12") and snaps["S000"].previous_close == Decimal("10")
    assert snaps["S001"].price == Decimal("11") and snaps["S001"].previous_close == Decimal("5")


def test_fundamentals_from_reference_data_and_price() -> None:
    security = SecurityFactory(
        symbol="AAA",
        shares_outstanding=Decimal(1_000_000),
        eps_ttm=Decimal("6.15"),
        dividend_yield=Decimal("0.0045"),
    )
    block = selectors.fundamentals(security=security, price=Decimal("175.275"))
    assert block["market_cap"] == Decimal("175275000")
    assert block["pe_ratio"] == Decimal("28.5")
    assert block["dividend_yield"] == Decimal("0.0045") and block["sector"] == security.sector
    security.eps_ttm = Decimal("-0.27")  # a loss: no meaningful P/E
    assert selectors.fundamentals(security=security, price=Decimal(10))["pe_ratio"] is None
    option = SecurityFactory(symbol="AAA270115C00100000", asset_type=AssetType.OPTION)
    assert selectors.fundamentals(security=option, price=Decimal(1))["market_cap"] is None


# --------------------------------------------------------------------------- symbols


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" aapl ", "AAPL"),
        ("BRK.B", "BRK-B"),
        ("SPY_240920C00550000", "SPY240920C00550000"),
        ("SPY240115C445", "SPY240115C00445000"),
        ("^gspc", "^GSPC"),
    ],
)
def test_normalize_symbol(text: str, expected: str) -> None:
    assert selectors.normalize_symbol(text) == expected


@pytest.mark.parametrize("text", ["", "A B", "A\x00", "x" * 40, "$$$", "a/b"])
def test_normalize_rejects_what_cannot_be_a_symbol(text: str) -> None:
    with pytest.raises(InvalidSymbol):
        selectors.normalize_symbol(text)


# --------------------------------------------------------------------------- close matrix


def test_close_matrix_places_each_close_on_its_session_and_leaves_gaps_nan() -> None:
    days = _recent_sessions(5)
    for symbol in ("AAA", "BBB", "CCC"):
        SecurityFactory(symbol=symbol)
    # AAA has every session; BBB misses the third; CCC has none; a bar of AAA before the
    # window is ignored.
    bars(
        "AAA",
        [(days[0] - dt.timedelta(days=7), "1"), *((d, f"{10 + i}.25") for i, d in enumerate(days))],
    )
    bars("BBB", [(d, f"{20 + i}.5") for i, d in enumerate(days) if i != 2])
    matrix = selectors.close_matrix(["CCC", "AAA", "BBB"], days)
    assert matrix.shape == (5, 3)
    assert all(math.isnan(v) for v in matrix[:, 0])
    assert list(matrix[:, 1]) == [10.25, 11.25, 12.25, 13.25, 14.25]
    assert math.isnan(matrix[2, 2])
    assert [matrix[i, 2] for i in (0, 1, 3, 4)] == [20.5, 21.5, 23.5, 24.5]
    dates, returns = selectors.returns_matrix(["AAA"], end=days[-1], lookback=4)
    assert dates == days[1:]
    assert returns[:, 0] == pytest.approx(
        [11.25 / 10.25 - 1, 12.25 / 11.25 - 1, 13.25 / 12.25 - 1, 14.25 / 13.25 - 1]
    )
