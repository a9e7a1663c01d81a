"""Pin risk: near the close, a short strike within ``TRADING_PIN_RISK_DISTANCE`` (0.001, a
fraction of spot) of the underlying flags its position in ``GET /trading/positions`` and
sends ``pin_risk`` over ``/ws/positions``, to the owner only, once per raise.

The fixture's bull call spread holds +430 / −435 SPY calls of the 2026-11-30 session (a
regular one: the close at 16:00 ET, 21:00 UTC; the window from 15:30 ET, market minute
360). Each case sets the chain's spot by hand, so the band is 0.001 × spot."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tokens import issue_for_new_session
from marketdata.clock import VirtualClock, use_clock
from marketdata.models import ChainSnapshot
from trading import selectors, services
from trading.engine.pin import pinned_strikes
from trading.messages import pin_risk_message
from trading.models import StrategyPosition
from trading.tests.helpers import client_for, set_quotes
from trading.tests.sockets import positions_socket, receive_messages

D = Decimal
#: 15:30 ET on a regular session: the pin-risk window opens (390 − 30 minutes).
WINDOW = 360


def _open(clock: VirtualClock, signal: Any, user: Any) -> str:
    with use_clock(clock):
        trade, _ = services.trade_execute(
            user=user, request=services.ExecuteRequest(signal_id=signal.id, position_size=1000)
        )
    return str(StrategyPosition.objects.get(trade=trade).pk)


def _chain(clock: VirtualClock, minute: int, low: float, high: float, spot: str) -> None:
    """The SPY chain at ``minute``: the entry's quotes, the underlying at ``spot``."""
    clock.minute = minute
    set_quotes(clock, {("call", low): ("2.00", "2.10"), ("call", high): ("0.50", "0.56")})
    ChainSnapshot.objects.filter(symbol="SPY", timestamp=clock.read().now).update(
        underlying_price=D(spot)
    )


def _position(user: Any, clock: VirtualClock, position_id: str) -> dict[str, Any]:
    return selectors.strategy_position_body(user=user, position_id=position_id, at=clock.read())


def test_pinned_strikes_worked_by_hand() -> None:
    # Spot 600.40 × 0.001 = a band of 0.6004: 600 (0.40 away) and 601 (0.60) are pinned,
    # 599 (1.40) is not.
    strikes = [D(601), D(599), D(600), D(600)]
    assert pinned_strikes(strikes, spot=D("600.40"), distance=D("0.001")) == [D(600), D(601)]
    assert pinned_strikes([D(600)], spot=D("600.61"), distance=D("0.001")) == []
    assert pinned_strikes([D(600)], spot=None, distance=D("0.001")) == []
    assert pinned_strikes([D(600)], spot=D(0), distance=D("0.001")) == []


def test_the_window_opens_thirty_minutes_before_the_close() -> None:
    assert selectors.pin_risk_from(dt.date(2026, 11, 30)) == dt.datetime(
        2026, 11, 30, 20, 30, tzinfo=dt.UTC
    )
    # The day after Thanksgiving closes at 13:00 ET: the window opens at 12:30.
    assert selectors.pin_risk_from(dt.date(2026, 11, 27)) == dt.datetime(
        2026, 11, 27, 17, 30, tzinfo=dt.UTC
    )


@pytest.mark.django_db
def test_a_short_strike_within_the_distance_near_the_close_is_flagged(
    bull_call: Any, trader: Any
) -> None:
    signal, clock, low, high = bull_call
    assert (low, high) == (430.0, 435.0)
    position_id = _open(clock, signal, trader)
    # Spot 435.30: the band is 0.4353 and the short 435 is 0.30 away.
    _chain(clock, WINDOW + 5, low, high, "435.30")
    body = _position(trader, clock, position_id)
    assert body["pin_risk"] is True and body["pin_risk_strikes"] == [D(435)]
    assert body["spot"] == D("435.30")
    # GET /trading/positions shows the strikes as numbers, like the legs' strikes.
    with use_clock(clock):
        response = client_for(trader).get("/api/v1/trading/positions")
    [shown] = response.json()["positions"]
    assert shown["pin_risk"] is True and shown["pin_risk_strikes"] == [435]
    assert shown["spot"] == 435.3
    # The window's first minute counts; the minute before it does not, at the same spot.
    _chain(clock, WINDOW, low, high, "435.30")
    assert _position(trader, clock, position_id)["pin_risk_strikes"] == [D(435)]
    _chain(clock, WINDOW - 1, low, high, "435.30")
    body = _position(trader, clock, position_id)
    assert body["pin_risk"] is False and body["pin_risk_strikes"] == []


@pytest.mark.django_db
def test_a_spot_beyond_the_distance_a_long_strike_at_spot_and_no_spot_are_not_flagged(
    bull_call: Any, trader: Any
) -> None:
    signal, clock, low, high = bull_call
    position_id = _open(clock, signal, trader)
    # Spot 435.50: the band is 0.4355 and the short 435 is 0.50 away.
    _chain(clock, WINDOW + 5, low, high, "435.50")
    body = _position(trader, clock, position_id)
    assert body["pin_risk"] is False and body["pin_risk_strikes"] == []
    # Spot 430.00, the long strike: only short legs count (the short 435 is 5.00 away).
    _chain(clock, WINDOW + 6, low, high, "430.00")
    body = _position(trader, clock, position_id)
    assert body["pin_risk"] is False and body["pin_risk_strikes"] == []
    # A chain without a price for the underlying flags nothing.
    _chain(clock, WINDOW + 7, low, high, "0")
    body = _position(trader, clock, position_id)
    assert body["pin_risk"] is False and body["pin_risk_strikes"] == []


@pytest.mark.django_db
def test_a_closed_position_is_not_flagged(bull_call: Any, trader: Any) -> None:
    signal, clock, low, high = bull_call
    position_id = _open(clock, signal, trader)
    _chain(clock, WINDOW + 5, low, high, "435.00")
    assert _position(trader, clock, position_id)["pin_risk_strikes"] == [D(435)]
    services.strategy_position_close(
        user=trader, position_id=position_id, request=services.CloseRequest(), at=clock.read()
    )
    body = _position(trader, clock, position_id)
    assert body["status"] == "closed"
    assert body["pin_risk"] is False and body["pin_risk_strikes"] == [] and body["spot"] is None


@pytest.mark.django_db
def test_the_flag_adds_no_query(bull_call: Any, trader: Any) -> None:
    signal, clock, low, high = bull_call
    _open(clock, signal, trader)

    def queries(minute: int) -> int:
        _chain(clock, minute, low, high, "435.00")
        with CaptureQueriesContext(connection) as captured:
            body = selectors.strategy_positions(user=trader, at=clock.read())
        assert body["positions"][0]["pin_risk"] is (minute >= WINDOW)
        return len(captured)

    # The positions with their trades, their orders, the working closes, SPY's chain.
    assert queries(WINDOW - 1) == queries(WINDOW + 1) == 4


def test_the_pin_risk_message_carries_the_flag() -> None:
    body = {
        "position_id": "pos_1",
        "symbol": "SPY",
        "strategy": "bull_call_spread",
        "spot": D("435.300000"),
        "pin_risk": True,
        "pin_risk_strikes": [D(435)],
        "mark_time": dt.datetime(2026, 11, 30, 20, 35, tzinfo=dt.UTC),
    }
    assert pin_risk_message(body) == {
        "type": "pin_risk",
        "data": {
            "position_id": "pos_1",
            "symbol": "SPY",
            "strategy": "bull_call_spread",
            "spot": 435.3,
            "strikes": [435],
            "distance": 0.001,
            "time": "2026-11-30T20:35:00Z",
        },
    }


@pytest.mark.django_db(transaction=True)
def test_the_owner_alone_gets_one_pin_risk_message_per_raise(
    bull_call: Any, make_user: Any
) -> None:
    signal, clock, low, high = bull_call
    owner, other = make_user(role="trader"), make_user(role="trader")
    tokens = [issue_for_new_session(u).access_token for u in (owner, other)]

    def monitor(minute: int, spot: str) -> None:
        _chain(clock, minute, low, high, spot)
        assert services.positions_monitor(at=clock.read()).exits == {}

    async def scenario() -> None:
        mine, theirs = await positions_socket(tokens[0]), await positions_socket(tokens[1])
        position_id = await database_sync_to_async(_open)(clock, signal, owner)
        await receive_messages(mine, 5)  # the entry's orders, fills and position
        # 15:35 ET, spot 435.30 (0.30 from the short 435, inside 0.4353): the flag rises.
        await database_sync_to_async(monitor)(WINDOW + 5, "435.30")
        update, pin = await receive_messages(mine, 2)
        assert update["type"] == "position_update"
        assert update["data"]["pin_risk"] is True and update["data"]["pin_risk_strikes"] == [435]
        assert pin == {
            "type": "pin_risk",
            "data": {
                "position_id": position_id,
                "symbol": "SPY",
                "strategy": "bull_call_spread",
                "spot": 435.3,
                "strikes": [435],
                "distance": 0.001,
                "time": "2026-11-30T20:35:00Z",
            },
        }
        # The next pass, still pinned at the same marks: nothing more.
        await database_sync_to_async(monitor)(WINDOW + 6, "435.30")
        assert await mine.receive_nothing(0.5)
        # 435.50 (0.50 away, beyond 0.4355): the flag drops, an update says so.
        await database_sync_to_async(monitor)(WINDOW + 7, "435.50")
        [dropped] = await receive_messages(mine, 1)
        assert dropped["type"] == "position_update" and dropped["data"]["pin_risk"] is False
        # Back at 435.30: raised again, sent again.
        await database_sync_to_async(monitor)(WINDOW + 8, "435.30")
        update, pin = await receive_messages(mine, 2)
        assert update["type"] == "position_update" and pin["type"] == "pin_risk"
        assert pin["data"]["time"] == "2026-11-30T20:38:00Z"
        assert await mine.receive_nothing(0.5)
        assert await theirs.receive_nothing(0.5)
        await mine.disconnect()
        await theirs.disconnect()

    asyncio.run(scenario())
