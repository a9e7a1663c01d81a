"""GET /api/v1/export/data/historical (E2): the stored history, streamed as CSV, JSON or
Parquet, with a query count that does not grow with the range, and streamed under ASGI."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from decimal import Decimal as D
from typing import Any

import pyarrow.parquet as pq
import pytest
from django.db import connection
from django.test import AsyncClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from accounts.tokens import issue_for_new_session
from marketdata import calendar
from marketdata.models import AssetType, PriceBar, Security
from portfolios.models import Portfolio, Position
from risk.exports import historical
from risk.models import PortfolioRiskMetrics, PortfolioSnapshot, PositionGreeks
from tests.contract import assert_error_envelope

pytestmark = pytest.mark.django_db

URL = "/api/v1/export/data/historical"
CALL = "SPY261218C00550000"
D16, D17, D18, D19 = (dt.date(2026, 11, d) for d in (16, 17, 18, 19))
# Every column is written, in this order, whatever the format and include_calculated.
HEADER = [
    "date",
    "record",
    "symbol",
    "position_id",
    "position_type",
    "quantity",
    "multiplier",
    "close",
    "adj_close",
    "market_value",
    "delta",
    "gamma",
    "theta",
    "vega",
    "rho",
    "total_value",
    "positions_value",
    "cash_balance",
    "unrealized_pnl",
    "realized_pnl",
    "daily_pnl",
    "daily_return",
    "method",
    "var_95_1d",
    "var_99_1d",
    "es_95_1d",
    "es_99_1d",
]


def _security(symbol: str, **extra: Any) -> Security:
    defaults: dict[str, Any] = {"asset_type": AssetType.STOCK, "name": symbol, "source": "test"}
    defaults.update(extra)
    return Security.objects.update_or_create(symbol=symbol, defaults=defaults)[0]


def _bar(symbol: str, day: dt.date, close: str, adj: str | None = None) -> None:
    PriceBar.objects.create(
        security_id=symbol,
        date=day,
        close=D(close),
        adj_close=D(adj or close),
        source="test",
    )


@pytest.fixture
def book(auth_client: APIClient) -> dict[str, Any]:
    """AAPL held from 11-16 (10 shares, no bar on 11-19); a short call held 11-17 to
    11-19 (closed on 11-19); a snapshot, a historical metrics row and the call's Greeks
    on 11-18."""
    portfolio = Portfolio.objects.get(owner=auth_client.user)  # type: ignore[attr-defined]
    _security("AAPL")
    spy = _security("SPY", asset_type=AssetType.ETF)
    _security(
        CALL,
        asset_type=AssetType.OPTION,
        underlying=spy,
        option_right="C",
        strike=D(550),
        expiry=dt.date(2026, 12, 18),
        multiplier=100,
    )
    for day, close, adj in ((D16, "172.40", "171.90"), (D17, "175.25", "174.75")):
        _bar("AAPL", day, close, adj)
    _bar("AAPL", D18, "176.123456")
    for day, close in ((D16, "3.80"), (D17, "4.20"), (D18, "4.35"), (D19, "4.10")):
        _bar(CALL, day, close)
    aapl = Position.objects.create(
        portfolio=portfolio,
        security_id="AAPL",
        position_type="LONG",
        quantity=D(10),
        entry_price=D("170"),
        entry_date=D16,
    )
    call = Position.objects.create(
        portfolio=portfolio,
        security_id=CALL,
        position_type="SC",
        quantity=D(-2),
        multiplier=100,
        underlying_symbol="SPY",
        strike=D(550),
        expiry=dt.date(2026, 12, 18),
        entry_price=D("4.00"),
        entry_date=D17,
        exit_price=D("4.10"),
        exit_date=D19,
        closed_at=timezone.make_aware(dt.datetime(2026, 11, 19, 20, 0), dt.UTC),
    )
    PortfolioSnapshot.objects.create(
        portfolio=portfolio,
        date=D18,
        total_value=D("51761.23"),
        positions_value=D("891.23"),
        cash_balance=D("50870.00"),
        unrealized_pnl=D("81.23"),
        realized_pnl=D("0.00"),
        daily_pnl=None,  # not stored: must stay empty, never 0
        daily_return=0.0125,
        positions_count=2,
    )
    PortfolioRiskMetrics.objects.create(
        portfolio=portfolio,
        calculation_date=D18,
        method="historical",
        portfolio_value=D("51761.23"),
        value_at_risk={"1_day": {"95": -812.345, "99": -1203.5}, "10_day": {"95": -2500.0}},
        expected_shortfall={"1_day": {"95": -1010.0}},  # no 99: null
    )
    PositionGreeks.objects.create(
        position=call,
        calculation_date=D18,
        delta=0.5125,
        gamma=0.0123,
        theta=-0.251,
        vega=0.734,
        rho=0.112,
        option_price=4.35,
        volatility_source="implied_quote",
        underlying_price=551.0,
        time_to_expiry_years=0.08,
        rate=0.043,
        rate_source="test",
        delta_dollars=-56475.0,
        gamma_dollars_1pct=-373.0,
    )
    return {"portfolio": portfolio, "aapl": str(aapl.id), "call": str(call.id)}


def _get(client: APIClient, **params: Any) -> Any:
    return client.get(URL, params)


def _body(response: Any) -> bytes:
    assert response.status_code == 200, response.content
    assert response.streaming
    return b"".join(response.streaming_content)


def _range(book: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "portfolio_id": str(book["portfolio"].id),
        "start_date": "2026-11-16",
        "end_date": "2026-11-19",
        **extra,
    }


def _row(day: dt.date, record: str, **cells: str) -> list[str]:
    """A CSV row: the given cells, every other column empty."""
    return [{"date": day.isoformat(), "record": record, **cells}.get(name, "") for name in HEADER]


def _expected_rows(book: dict[str, Any]) -> list[list[str]]:
    aapl = {"symbol": "AAPL", "position_id": book["aapl"], "position_type": "LONG"}
    aapl |= {"quantity": "10", "multiplier": "1"}
    call = {"symbol": CALL, "position_id": book["call"], "position_type": "SC"}
    call |= {"quantity": "-2", "multiplier": "100"}
    greeks = {"delta": "0.5125", "gamma": "0.0123", "theta": "-0.251", "vega": "0.734"}
    greeks["rho"] = "0.112"
    return [
        _row(D16, "price", **aapl, close="172.4", adj_close="171.9", market_value="1724.00"),
        _row(D17, "price", **aapl, close="175.25", adj_close="174.75", market_value="1752.50"),
        _row(D17, "price", **call, close="4.2", adj_close="4.2", market_value="-840.00"),
        _row(
            D18, "price", **aapl, close="176.123456", adj_close="176.123456", market_value="1761.23"
        ),
        _row(
            D18,
            "price",
            **call,
            close="4.35",
            adj_close="4.35",
            market_value="-870.00",
            **greeks,
        ),
        _row(
            D18,
            "snapshot",
            total_value="51761.23",
            positions_value="891.23",
            cash_balance="50870.00",
            unrealized_pnl="81.23",
            realized_pnl="0.00",
            daily_return="0.0125",  # daily_pnl is not stored: empty, never 0
        ),
        _row(
            D18,
            "metrics",
            method="historical",
            var_95_1d="-812.345",
            var_99_1d="-1203.5",
            es_95_1d="-1010.0",
        ),
        # No AAPL bar on 11-19: empty, never 0. The call left on 11-19 (its exit date).
        _row(D19, "price", **aapl),
    ]


def test_csv_is_the_header_then_exact_rows_by_date(
    auth_client: APIClient, book: dict[str, Any]
) -> None:
    response = _get(auth_client, **_range(book))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    portfolio_id = book["portfolio"].id
    assert response["Content-Disposition"] == (
        f'attachment; filename="portfolio_{portfolio_id}_2026-11-16_2026-11-19.csv"'
    )
    rows = list(csv.reader(io.StringIO(_body(response).decode())))
    assert rows[0] == HEADER
    assert rows[1:] == _expected_rows(book)


def test_the_trailing_slash_form_answers_too(auth_client: APIClient, book: dict[str, Any]) -> None:
    response = auth_client.get(URL + "/", _range(book))
    assert len(_body(response).splitlines()) == 1 + len(_expected_rows(book))


def test_without_calculated_figures_no_greeks_and_no_metrics_rows(
    auth_client: APIClient, book: dict[str, Any]
) -> None:
    response = _get(auth_client, **_range(book, include_calculated="false"))
    rows = list(csv.reader(io.StringIO(_body(response).decode())))
    assert rows[0] == HEADER
    assert [r[1] for r in rows[1:]] == ["price"] * 5 + ["snapshot", "price"]
    assert all(cell == "" for r in rows[1:] for cell in r[10:15])


def test_json_is_one_document_with_the_same_figures(
    auth_client: APIClient, book: dict[str, Any]
) -> None:
    response = _get(auth_client, **_range(book, format="json"))
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].endswith('_2026-11-16_2026-11-19.json"')
    body = json.loads(_body(response))
    assert body["portfolio_id"] == str(book["portfolio"].id)
    assert (body["start_date"], body["end_date"]) == ("2026-11-16", "2026-11-19")
    assert body["columns"] == HEADER
    assert body["include_calculated"] is True
    assert "dollars" in body["units"]["market_value"]
    rows = [dict(zip(HEADER, row, strict=True)) for row in body["rows"]]
    assert len(rows) == len(_expected_rows(book))
    assert rows[0]["quantity"] == 10 and rows[0]["close"] == 172.4
    assert rows[0]["market_value"] == 1724.0 and rows[0]["delta"] is None
    assert rows[3]["close"] == 176.1235  # prices to 4 places in JSON
    assert rows[3]["market_value"] == 1761.23
    assert rows[4]["market_value"] == -870.0 and rows[4]["delta"] == 0.5125
    assert rows[5]["total_value"] == 51761.23 and rows[5]["daily_pnl"] is None
    assert rows[5]["daily_return"] == 0.0125
    assert rows[6]["var_95_1d"] == -812.35  # money to cents in JSON
    assert rows[6]["es_99_1d"] is None
    assert rows[7]["close"] is None and rows[7]["market_value"] is None
    assert body["warnings"] == [
        "AAPL: no stored daily bar on 1 held session(s); close, adj_close and market_value "
        "are null there"
    ]


def test_parquet_reads_back_with_the_csv_figures(
    auth_client: APIClient, book: dict[str, Any]
) -> None:
    csv_rows = list(csv.reader(io.StringIO(_body(_get(auth_client, **_range(book))).decode())))
    response = _get(auth_client, **_range(book, format="parquet"))
    assert response["Content-Type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(_body(response)))
    assert table.column_names == HEADER
    assert str(table.schema.field("market_value").type) == "decimal128(38, 2)"
    assert str(table.schema.field("close").type) == "decimal128(20, 6)"

    def as_csv(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, D):
            return historical._csv_cell(historical.PRICE, value)
        return repr(value) if isinstance(value, float) else str(value)

    read_back = [[as_csv(v) for v in row.values()] for row in table.to_pylist()]
    money = {name for name, kind, _ in historical.COLUMNS if kind == historical.MONEY}
    for got, want in zip(read_back, csv_rows[1:], strict=True):
        for name, g, w in zip(HEADER, got, want, strict=True):
            if name in money and w:  # the CSV writes money with two places
                assert D(g) == D(w), name
            else:
                assert g == w, (name, g, w)
    meta = pq.read_metadata(io.BytesIO(_body(_get(auth_client, **_range(book, format="parquet")))))
    assert json.loads(meta.metadata[b"warnings"])[0].startswith("AAPL: no stored daily bar")


def test_defaults_run_from_the_first_stored_figure_to_today(
    auth_client: APIClient, book: dict[str, Any]
) -> None:
    response = _get(auth_client, portfolio_id=str(book["portfolio"].id), format="json")
    body = json.loads(_body(response))
    today = dt.datetime.now(calendar.EASTERN).date()
    assert (body["start_date"], body["end_date"]) == ("2026-11-16", today.isoformat())
    assert body["include_calculated"] is True
    aapl_rows = [r for r in body["rows"] if r[1] == "price" and r[2] == "AAPL"]
    assert len(aapl_rows) == len(calendar.sessions_between(D16, today))


@pytest.mark.parametrize(
    ("params", "note"),
    [
        ({"start_date": "1900-01-01", "end_date": "2100-12-31"}, "end_date 2100-12-31 is after"),
        ({"start_date": "2100-01-01"}, "start_date 2100-01-01 is after today"),
    ],
)
def test_extreme_but_valid_ranges_answer_with_a_warning(
    auth_client: APIClient, book: dict[str, Any], params: dict[str, str], note: str
) -> None:
    response = _get(auth_client, portfolio_id=str(book["portfolio"].id), format="json", **params)
    body = json.loads(_body(response))
    assert any(w.startswith(note) for w in body["warnings"]), body["warnings"]
    assert body["end_date"] <= dt.datetime.now(calendar.EASTERN).date().isoformat()


def test_other_users_portfolio_is_404(auth_client: APIClient, book: dict[str, Any]) -> None:
    stranger = Portfolio.objects.get(owner=UserFactory())
    for portfolio_id in (stranger.id, "7d3c7f2e-7a51-4f0e-9d84-0a6f2c3b1e55"):
        response = _get(auth_client, portfolio_id=str(portfolio_id))
        assert response.status_code == 404
        assert_error_envelope(response.json(), status=404, code="NOT_FOUND")


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "2026-13-01"},
        {"end_date": "yesterday"},
        {"start_date": "2026-11-20", "end_date": "2026-11-19"},
        {"format": "xlsx"},
        {"include_calculated": "maybe"},
        {"portfolio_id": "not-a-uuid"},
    ],
)
def test_bad_input_is_422_in_the_envelope(
    auth_client: APIClient, book: dict[str, Any], params: dict[str, str]
) -> None:
    response = _get(auth_client, **{"portfolio_id": str(book["portfolio"].id), **params})
    assert response.status_code == 422, response.content
    assert_error_envelope(response.json(), status=422, code="VALIDATION_ERROR")


def test_missing_portfolio_id_is_422(auth_client: APIClient) -> None:
    response = auth_client.get(URL)
    assert response.status_code == 422
    assert_error_envelope(response.json(), status=422, code="VALIDATION_ERROR")


def test_anonymous_is_401(api_client: APIClient, book: dict[str, Any]) -> None:
    response = _get(api_client, **_range(book))
    assert response.status_code == 401
    assert_error_envelope(response.json())


# --------------------------------------------------------------------------- scaling


def _long_history(portfolio: Portfolio, sessions: list[dt.date]) -> None:
    """Bars, snapshots, metrics and the call's Greeks on every session (the book's two
    positions backdated to the first one, the call left open)."""
    Position.objects.filter(portfolio=portfolio).update(
        entry_date=sessions[0], exit_date=None, closed_at=None
    )
    call = Position.objects.get(portfolio=portfolio, security_id=CALL)
    PriceBar.objects.filter(security_id__in=["AAPL", CALL]).delete()
    PortfolioSnapshot.objects.filter(portfolio=portfolio).delete()
    PortfolioRiskMetrics.objects.filter(portfolio=portfolio).delete()
    template = PositionGreeks.objects.get(position=call)
    PositionGreeks.objects.all().delete()
    PriceBar.objects.bulk_create(
        [
            PriceBar(security_id=s, date=d, close=D("100"), adj_close=D("100"), source="t")
            for d in sessions
            for s in ("AAPL", CALL)
        ]
    )
    PortfolioSnapshot.objects.bulk_create(
        [
            PortfolioSnapshot(
                portfolio=portfolio,
                date=d,
                total_value=D(1),
                positions_value=D(1),
                cash_balance=D(0),
                unrealized_pnl=D(0),
                realized_pnl=D(0),
            )
            for d in sessions
        ]
    )
    PortfolioRiskMetrics.objects.bulk_create(
        [
            PortfolioRiskMetrics(
                portfolio=portfolio,
                calculation_date=d,
                method=m,
                portfolio_value=D(1),
                value_at_risk={"1_day": {"95": -1.0, "99": -2.0}},
            )
            for d in sessions
            for m in ("historical", "parametric")
        ]
    )
    fields = {
        f.name: getattr(template, f.name)
        for f in PositionGreeks._meta.concrete_fields
        if f.name not in ("id", "calculation_date", "calculated_at")
    }
    PositionGreeks.objects.bulk_create(
        [PositionGreeks(**{**fields, "calculation_date": d}) for d in sessions]
    )


def _queries_for(
    client: APIClient, portfolio: Portfolio, sessions: list[dt.date], fmt: str
) -> tuple[int, int]:
    params = {
        "portfolio_id": str(portfolio.id),
        "start_date": sessions[0].isoformat(),
        "end_date": sessions[-1].isoformat(),
        "format": fmt,
    }
    with CaptureQueriesContext(connection) as captured:
        body = _body(client.get(URL, params))
    rows = len(body.splitlines()) - 1 if fmt == "csv" else 0
    return len(captured), rows


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_query_count_is_the_same_for_5_and_60_sessions(
    auth_client: APIClient, book: dict[str, Any], fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small chunks, so that the long range is read in many fetches of every cursor.
    monkeypatch.setattr(historical, "DB_CHUNK_ROWS", 7)
    monkeypatch.setattr(historical, "TEXT_CHUNK_ROWS", 11)
    monkeypatch.setattr(historical, "PARQUET_CHUNK_ROWS", 13)
    sessions = calendar.sessions_between(dt.date(2026, 8, 1), D19)[-60:]
    _long_history(book["portfolio"], sessions)
    short_queries, short_rows = _queries_for(auth_client, book["portfolio"], sessions[-5:], fmt)
    long_queries, long_rows = _queries_for(auth_client, book["portfolio"], sessions, fmt)
    assert short_queries == long_queries <= 12
    if fmt == "csv":  # 2 price rows + snapshot + 2 metrics rows per session
        assert (short_rows, long_rows) == (5 * 5, 60 * 5)


# --------------------------------------------------------------------------- ASGI


@pytest.fixture
def asgi_book(transactional_db: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A year and a half of AAPL bars for a 3-share position (committed: the ASGI
    handler reads on its own thread and connection), chunks of 50 rows, and a count of
    the chunks the export has produced so far."""
    monkeypatch.setattr(historical, "TEXT_CHUNK_ROWS", 50)
    produced: list[bytes] = []
    chunks_of = historical.export_chunks

    def counted(export: Any, file_format: str) -> Any:
        for chunk in chunks_of(export, file_format):
            produced.append(chunk)
            yield chunk

    monkeypatch.setattr(historical, "export_chunks", counted)
    user: Any = UserFactory()
    portfolio = Portfolio.objects.get(owner=user)
    _security("AAPL")
    Position.objects.create(
        portfolio=portfolio,
        security_id="AAPL",
        position_type="LONG",
        quantity=D(3),
        entry_price=D(100),
        entry_date=dt.date(2025, 1, 2),
    )
    sessions = calendar.sessions_between(dt.date(2025, 1, 2), dt.date(2026, 6, 30))
    PriceBar.objects.bulk_create(
        [
            PriceBar(security_id="AAPL", date=d, close=D("101.5"), adj_close=D("101.5"), source="t")
            for d in sessions
        ]
    )
    return {
        "token": issue_for_new_session(user).access_token,
        "query": f"portfolio_id={portfolio.id}&start_date=2025-01-01&end_date=2026-06-30",
        "sessions": sessions,
        "produced": produced,
    }


def _check_csv(chunks: list[bytes], sessions: list[dt.date]) -> None:
    lines = b"".join(chunks).decode().splitlines()
    assert lines[0] == ",".join(HEADER)
    assert len(lines) == 1 + len(sessions)
    assert lines[1].startswith("2025-01-02,price,AAPL,")
    assert ",3,1,101.5,101.5,304.50," in lines[1]


async def _close_connections() -> None:
    """The handler's thread keeps its connection (the test handlers do not close it)."""
    from asgiref.sync import sync_to_async
    from django.db import connections

    await sync_to_async(connections.close_all, thread_sensitive=True)()


def test_async_client_gets_an_async_iterator_that_yields_as_it_reads(
    asgi_book: dict[str, Any],
) -> None:
    """Through Django's AsyncClient (an ASGIRequest), streaming_content is an async
    iterator, and its first chunk arrives before the export has produced the rest."""
    produced = asgi_book["produced"]

    async def fetch() -> tuple[list[bytes], int]:
        try:
            response = await AsyncClient().get(
                f"{URL}?{asgi_book['query']}",
                headers={"Authorization": f"Bearer {asgi_book['token']}"},
            )
            assert response.status_code == 200, response.content
            assert response.is_async
            stream = response.streaming_content
            assert hasattr(stream, "__anext__") and not hasattr(stream, "__next__")
            chunks, produced_at_first = [], -1
            async for chunk in stream:
                if produced_at_first < 0:
                    produced_at_first = len(produced)
                chunks.append(chunk)
            return chunks, produced_at_first
        finally:
            await _close_connections()

    chunks, produced_at_first = asyncio.run(fetch())
    sessions = asgi_book["sessions"]
    assert len(chunks) == 1 + -(-len(sessions) // 50)  # the header, then 50 rows a chunk
    assert produced_at_first == 1  # not a list built first
    _check_csv(chunks, sessions)


def test_the_asgi_handler_sends_each_chunk_as_it_is_read(asgi_book: dict[str, Any]) -> None:
    """Through Django's ASGIHandler itself (middleware, send_response): each chunk goes out
    as an http.response.body message before the next one is read."""
    from django.core.handlers.asgi import ASGIHandler

    produced = asgi_book["produced"]
    sent: list[tuple[bytes, int]] = []
    start: dict[str, Any] = {}

    async def call() -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": URL,
            "raw_path": URL.encode(),
            "query_string": asgi_book["query"].encode(),
            "root_path": "",
            "headers": [
                (b"host", b"testserver"),
                (b"authorization", f"Bearer {asgi_book['token']}".encode()),
            ],
            "client": ("127.0.0.1", 5000),
            "server": ("testserver", 80),
        }
        requested = False

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.sleep(3600)  # the client stays connected
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message.get("body"):
                sent.append((message["body"], len(produced)))

        try:
            await ASGIHandler()(scope, receive, send)
        finally:
            await _close_connections()

    asyncio.run(call())
    assert start["status"] == 200
    headers = dict(start["headers"])
    assert headers[b"Content-Type"] == b"text/csv; charset=utf-8"
    assert headers[b"Content-Disposition"].startswith(b"attachment; filename=")
    assert [count for _, count in sent] == list(range(1, len(sent) + 1))
    assert len(sent) == 1 + -(-len(asgi_book["sessions"]) // 50)
    _check_csv([body for body, _ in sent], asgi_book["sessions"])


def test_streaming_helper_passes_a_sync_iterator_under_wsgi(rf: Callable[..., Any]) -> None:
    from sigmasight.streaming import streaming_file_response

    request = rf.get("/")  # type: ignore[attr-defined]
    response = streaming_file_response(
        request, iter([b"a", b"b"]), content_type="text/csv", filename="x.csv"
    )
    assert not response.is_async
    assert list(response.streaming_content) == [b"a", b"b"]
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'
