"""The risk batch on a hand-made market, and the /data/ and /analytics/ risk endpoints."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tokens import issue_for_new_session
from marketdata import calendar
from marketdata.models import AssetType, FactorDefinition, PriceBar, Quote, Security
from portfolios import services as portfolio_services
from portfolios.models import Portfolio
from risk import services
from risk.models import (
    PortfolioRiskMetrics,
    PortfolioSnapshot,
    PositionFactorExposure,
    StressTestResult,
)
from risk.payloads import components_of
from tests.contract import SIGMASIGHT, assert_error_envelope, assert_matches_example, spec_example

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 24)
NOW = timezone.make_aware(dt.datetime(2026, 11, 25, 3, 0), dt.UTC)
SESSIONS = calendar.sessions_between(dt.date(2025, 6, 1), TODAY)[-300:]
STOCKS = {"AAPL": ("Information Technology", 1.2), "XOM": ("Energy", 0.6), "BND": (None, 0.05)}


def _series(seed: int, beta: float, market: np.ndarray, vol: float) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0.0, vol, len(market))
    return beta * market + noise


@pytest.fixture
def risk_market(db: None) -> dict[str, np.ndarray]:
    """300 sessions of closes: the factor ETFs and three holdings, from fixed-seed returns."""
    market = np.random.default_rng(1).normal(0.0004, 0.011, len(SESSIONS))
    returns = {"SPY": market}
    for i, factor in enumerate(FactorDefinition.objects.exclude(key="market")):
        returns[factor.etf_symbol] = _series(10 + i, 1.0, market, 0.004)
    for i, (symbol, (_, beta)) in enumerate(STOCKS.items()):
        returns[symbol] = _series(30 + i, beta, market, 0.012 if symbol != "BND" else 0.002)
    stamp = calendar.session_close_utc(TODAY)
    for symbol, r in returns.items():
        sector = STOCKS.get(symbol, ("ETF", 1))[0]
        security = Security.objects.create(
            symbol=symbol,
            name=symbol,
            sector=sector,
            asset_type=AssetType.STOCK if symbol in STOCKS and symbol != "BND" else AssetType.ETF,
            duration=D("6.2") if symbol == "BND" else None,
        )
        closes = 100.0 * np.cumprod(1.0 + r)
        PriceBar.objects.bulk_create(
            PriceBar(
                security=security,
                date=d,
                close=D(f"{c:.4f}"),
                adj_close=D(f"{c:.4f}"),
                high=D(f"{c:.4f}"),
                low=D(f"{c:.4f}"),
                open=D(f"{c:.4f}"),
                volume=1000,
                source="test",
            )
            for d, c in zip(SESSIONS, closes, strict=True)
        )
        last = D(f"{closes[-1]:.4f}")
        Quote.objects.create(
            security=security, last=last, bid=last, ask=last, timestamp=stamp, source="test"
        )
    return returns


@pytest.fixture
def risk_book(auth_client: APIClient, risk_market: Any) -> Portfolio:
    portfolio = Portfolio.objects.get(owner=auth_client.user)  # type: ignore[attr-defined]
    portfolio_services.cash_transaction(
        portfolio=portfolio, kind="DEPOSIT", amount=D(50000), trade_date=SESSIONS[-5]
    )
    for symbol, quantity in (("AAPL", 100), ("XOM", -50), ("BND", 200)):
        portfolio_services.position_open(
            portfolio=portfolio,
            symbol=symbol,
            quantity=D(quantity),
            entry_price=D(100),
            entry_date=SESSIONS[-5],
            today=TODAY,
        )
    return portfolio


def _run_all(portfolio: Portfolio) -> None:
    for work in (
        services.greeks_for_portfolio,
        services.factor_analysis_for_portfolio,
        services.risk_metrics_for_portfolio,
        services.stress_for_portfolio,
        services.correlations_for_portfolio,
        services.snapshot_for_portfolio,
        services.data_quality_for_portfolio,
    ):
        work(portfolio, now=NOW)


def test_historical_var_matches_a_hand_computation(
    risk_book: Portfolio, risk_market: dict[str, np.ndarray]
) -> None:
    services.risk_metrics_for_portfolio(risk_book, now=NOW)
    metrics = PortfolioRiskMetrics.objects.get(portfolio=risk_book, method="historical")
    # Stocks only: each scenario's P&L is Σ quantity × today's price × that day's return.
    last_prices = {s: float(Quote.objects.get(security_id=s).last) for s in STOCKS}
    held = {"AAPL": 100, "XOM": -50, "BND": 200}
    window = slice(-252, None)
    pnl = sum(held[s] * last_prices[s] * risk_market[s][window] for s in held)
    # The stored prices are rounded to 4 places, so returns are re-derived from them.
    closes = {
        s: np.array(
            [
                float(b)
                for b in PriceBar.objects.filter(security_id=s)
                .order_by("date")
                .values_list("adj_close", flat=True)
            ]
        )
        for s in held
    }
    pnl = sum(held[s] * last_prices[s] * (closes[s][1:] / closes[s][:-1] - 1)[window] for s in held)
    expected = float(np.quantile(pnl, 0.05))
    assert metrics.value_at_risk["1_day"]["95"] == pytest.approx(expected, rel=1e-9)
    tail = pnl[pnl <= expected]
    assert metrics.expected_shortfall["1_day"]["95"] == pytest.approx(tail.mean(), rel=1e-9)
    components = [row["component_var_95"] for row in metrics.component_var]
    assert sum(components) == pytest.approx(expected, rel=1e-12)
    assert metrics.performance["portfolio_beta"] is not None


def test_factor_betas_recover_the_simulated_market_beta(risk_book: Portfolio) -> None:
    services.factor_analysis_for_portfolio(risk_book, now=NOW)
    aapl = PositionFactorExposure.objects.get(position__security_id="AAPL")
    assert aapl.observations == 252 and aapl.r_squared > 0.3
    # AAPL was built as 1.2 × market + noise, and each style ETF as the market + its own
    # noise: the style tilts (style − market) are orthogonal to the market, so the market
    # beta comes back near 1.2 and the tilts near 0.
    assert aapl.betas["market"] == pytest.approx(1.2, abs=0.1)
    # And the stored betas are statsmodels' OLS on the stored closes.
    import statsmodels.api as sm

    def returns(symbol: str) -> np.ndarray:
        closes = np.array(
            [
                float(c)
                for c in PriceBar.objects.filter(security_id=symbol)
                .order_by("date")
                .values_list("adj_close", flat=True)
            ]
        )
        return (closes[1:] / closes[:-1] - 1)[-252:]

    factors = list(FactorDefinition.objects.order_by("display_order"))
    market = returns("SPY")
    # Issue 11: each style spread is orthogonalized against the market (the residual of
    # its OLS on the market with an intercept) before the regression.
    const_market = sm.add_constant(market)
    design = np.column_stack(
        [
            market,
            *[
                sm.OLS(returns(f.etf_symbol) - market, const_market).fit().resid
                for f in factors
                if f.key != "market"
            ],
        ]
    )
    fit = sm.OLS(returns("AAPL"), sm.add_constant(design)).fit()
    single = sm.OLS(returns("AAPL"), const_market).fit()
    assert aapl.betas["market"] == pytest.approx(single.params[1], abs=1e-8)
    expected = dict(
        zip(["market", *[f.key for f in factors if f.key != "market"]], fit.params[1:], strict=True)
    )
    for key, value in expected.items():
        assert aapl.betas[key] == pytest.approx(value, abs=1e-8), key
    assert aapl.r_squared == pytest.approx(fit.rsquared, abs=1e-8)


def _rate_beta(symbol: str) -> float:
    """Reference rate beta: statsmodels OLS of the real month-end returns in the shipped
    history on the month's AAA yield change, over the months both files cover."""
    import pandas as pd
    import statsmodels.api as sm

    seed = Path(__file__).resolve().parents[2] / "marketdata" / "seed_data"
    real = pd.read_csv(seed / "real_history.csv.gz", usecols=["symbol", "date", "adj_close"])
    real = real[real["symbol"] == symbol]
    month_end = real.groupby(real["date"].str[:7])["adj_close"].last()
    returns = month_end.pct_change().dropna()
    yields = pd.read_csv(seed / "bond_yields_monthly.csv", index_col="month")["aaa"].diff()
    both = pd.concat([returns, yields], axis=1, join="inner").dropna()
    fit = sm.OLS(both.iloc[:, 0], sm.add_constant(both.iloc[:, 1])).fit()
    return float(fit.params.iloc[1])


def test_stress_scenarios_all_computed(risk_book: Portfolio) -> None:
    services.factor_analysis_for_portfolio(risk_book, now=NOW)
    services.stress_for_portfolio(risk_book, now=NOW)
    results = {r.scenario_id: r for r in StressTestResult.objects.filter(portfolio=risk_book)}
    assert len(results) == 18
    rates = results["rates_up_100bp"]
    bnd_value = 200 * float(Quote.objects.get(security_id="BND").last)
    # Issue 11: stocks now move with their rate beta, fitted (here by statsmodels, on the
    # shipped files) from real monthly returns on monthly AAA yield changes; the bond fund
    # by its duration only. AAPL and XOM have real history in the shipped file.
    stocks = sum(
        q * float(Quote.objects.get(security_id=s).last) * np.expm1(_rate_beta(s) * 0.01)
        for s, q in (("AAPL", 100), ("XOM", -50))
    )
    assert float(rates.direct_impact) == pytest.approx(
        -6.2 * 0.01 * bnd_value + stocks, abs=0.006
    )  # cents
    assert abs(stocks) > 1.0  # not exactly $0 any more
    assert (
        float(results["market_crash_35"].direct_impact)
        < 0
        < float(results["market_rally_25"].direct_impact)
    )


def test_risk_endpoints_match_the_spec(auth_client: APIClient, risk_book: Portfolio) -> None:
    _run_all(risk_book)
    pid = risk_book.id
    summary = auth_client.get(f"/api/v1/data/portfolios/{pid}/risk-summary").json()
    assert_matches_example(
        summary, spec_example(SIGMASIGHT, "2.11 Get Risk Summary"), maps=("$.stress_scenarios",)
    )
    assert summary["value_at_risk"]["1_day"]["absolute"] < 0
    assert set(summary["stress_scenarios"]) >= {
        "2008_financial_crisis",
        "covid_march_2020",
        "interest_rate_shock",
    }
    assert len(summary["stress_scenarios"]) == 18
    assert sum(r["percentage_contribution"] for r in summary["component_var"]) == pytest.approx(
        100, abs=0.05
    )
    factors = auth_client.get(f"/api/v1/data/factors/{pid}").json()
    assert_matches_example(
        factors,
        spec_example(SIGMASIGHT, "2.9 Get Factor Exposures"),
        maps=("$.risk_attribution.factor_concentration",),
    )
    assert sum(factors["risk_attribution"]["factor_concentration"].values()) == pytest.approx(1.0)
    aggregations = auth_client.get(f"/api/v1/data/portfolios/{pid}/aggregations").json()
    assert_matches_example(
        aggregations,
        spec_example(SIGMASIGHT, "2.10 Get Portfolio Aggregations"),
        maps=("$.position_breakdown.by_sector",),
    )
    quality = auth_client.get(f"/api/v1/data/portfolio/{pid}/data-quality").json()
    assert_matches_example(quality, spec_example(SIGMASIGHT, "2.3 Get Data Quality"))
    assert quality["metrics"]["price_coverage"]["positions_with_prices"] == 3
    overview = auth_client.get(f"/api/v1/analytics/portfolio/{pid}/overview").json()
    assert_matches_example(overview, spec_example(SIGMASIGHT, "A1. Portfolio Overview"))
    assert overview["position_count"] == {
        "total_positions": 3,
        "long_count": 2,
        "short_count": 1,
        "option_count": 0,
    }
    metrics = auth_client.get(f"/api/v1/analytics/risk/{pid}/metrics").json()
    assert_matches_example(
        metrics, spec_example(SIGMASIGHT, "A2. Portfolio Risk Metrics", label="Planned Response")
    )
    scenarios = auth_client.get(f"/api/v1/analytics/risk/{pid}/scenarios").json()
    assert len(scenarios["scenarios"]) == 18
    exposures = auth_client.get(f"/api/v1/analytics/factor/{pid}/exposures").json()
    assert {f["key"] for f in exposures["factors"]} >= {"market", "growth"}
    position = risk_book.positions.get(security_id="AAPL")
    detail = auth_client.get(f"/api/v1/data/positions/{position.id}/details").json()
    assert (
        detail["factor_exposures"]["market"] is not None
        and detail["risk_metrics"]["position_var_95"] < 0
    )


def test_risk_endpoints_before_the_batch_are_null_with_warnings(
    auth_client: APIClient, risk_book: Portfolio
) -> None:
    body = auth_client.get(f"/api/v1/data/portfolios/{risk_book.id}/risk-summary").json()
    assert body["value_at_risk"]["1_day"]["absolute"] is None and body["warnings"]


def test_risk_endpoints_are_404_for_another_user(risk_book: Portfolio, make_user: Any) -> None:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {issue_for_new_session(make_user()).access_token}"
    )
    for path in (
        "data/portfolios/{}/risk-summary",
        "data/factors/{}",
        "data/portfolios/{}/aggregations",
        "data/portfolio/{}/data-quality",
        "analytics/portfolio/{}/overview",
        "analytics/risk/{}/metrics",
        "analytics/factor/{}/exposures",
        "analytics/risk/{}/scenarios",
        "data/greeks/{}",
    ):
        response = client.get("/api/v1/" + path.format(risk_book.id))
        assert response.status_code == 404, path
        assert_error_envelope(response.json(), code="NOT_FOUND")


def test_parametric_and_monte_carlo_methods(auth_client: APIClient, risk_book: Portfolio) -> None:
    services.factor_analysis_for_portfolio(risk_book, now=NOW)
    services.risk_metrics_for_portfolio(risk_book, now=NOW)
    rows = {m.method: m for m in PortfolioRiskMetrics.objects.filter(portfolio=risk_book)}
    assert set(rows) == {"historical", "parametric", "monte_carlo"}
    for method in ("parametric", "monte_carlo"):
        row = rows[method]
        var95 = row.value_at_risk["1_day"]["95"]
        assert var95 < 0 and row.expected_shortfall["1_day"]["95"] <= var95
        # Components are stored once, on the historical row, with every method's.
        assert row.component_var == []
        components = components_of(rows["historical"], method)
        assert {c["symbol"] for c in components} == {"AAPL", "XOM", "BND"}
        assert sum(c["component_var_95"] for c in components) == pytest.approx(var95, rel=1e-9)
        body = auth_client.get(
            f"/api/v1/data/portfolios/{risk_book.id}/risk-summary", {"method": method}
        ).json()
        assert body["risk_summary"]["method"] == method
        assert body["value_at_risk"]["1_day"]["absolute"] == round(var95, 2)
        metrics = auth_client.get(
            f"/api/v1/analytics/risk/{risk_book.id}/metrics", {"method": method}
        ).json()
        assert metrics["calculation_metadata"]["method"] == method
    # Parametric √h scaling: the 10-day figure is √10 times the 1-day one.
    p = rows["parametric"].value_at_risk
    assert p["10_day"]["99"] == pytest.approx(p["1_day"]["99"] * 10**0.5, rel=1e-9)
    # The three methods agree on the order of magnitude for a linear book.
    h, m = (
        rows["historical"].value_at_risk["1_day"]["95"],
        rows["monte_carlo"].value_at_risk["1_day"]["95"],
    )
    assert 0.5 < p["1_day"]["95"] / h < 2 and 0.5 < m / h < 2
    bad = auth_client.get(
        f"/api/v1/data/portfolios/{risk_book.id}/risk-summary", {"method": "magic"}
    )
    assert bad.status_code == 422


def test_risk_summary_components_limit(auth_client: APIClient, risk_book: Portfolio) -> None:
    """API-CONVENTIONS: the top components_limit components (default 20; all for every one),
    largest loss first; the rest are named in warnings."""
    _run_all(risk_book)
    url = f"/api/v1/data/portfolios/{risk_book.id}/risk-summary"
    every = auth_client.get(url, {"components_limit": "all"}).json()
    assert len(every["component_var"]) == 3
    top = auth_client.get(url, {"components_limit": 1}).json()
    assert top["component_var"] == every["component_var"][:1]
    assert top["component_var"][0]["component_var"] == min(
        r["component_var"] for r in every["component_var"]
    )
    assert any("components_limit=all" in w for w in top["warnings"])
    assert not any("components_limit" in w for w in every["warnings"])
    for bad in ("0", "x", "٣"):
        response = auth_client.get(url, {"components_limit": bad})
        assert response.status_code == 422, bad
        assert response.json()["detail"][0]["loc"] == ["query", "components_limit"]


def test_a_session_without_a_close_for_a_holding_writes_no_snapshot(risk_book: Portfolio) -> None:
    """A missing close is not $0: while XOM has no close on or before a session, that
    session gets no snapshot (and a stated reason); the last one is written."""
    PriceBar.objects.filter(security_id="XOM", date__lt=SESSIONS[-1]).delete()
    result = services.snapshot_for_portfolio(risk_book, now=NOW, backfill=3)
    written = set(
        PortfolioSnapshot.objects.filter(portfolio=risk_book).values_list("date", flat=True)
    )
    assert written == {SESSIONS[-1]}
    assert result["failed"] == 2
    assert result["warnings"] == [
        f"{day.isoformat()}: no snapshot, no close for XOM" for day in SESSIONS[-3:-1]
    ]
