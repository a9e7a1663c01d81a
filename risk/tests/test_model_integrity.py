# ruff: noqa: F811 - the fixtures imported from test_risk_api are used as parameters
"""Issue 11, risk model without impossible numbers: one beta across endpoints (against
statsmodels), a bad position that cannot stop the batch, NaN never stored, VIX options as
volatility exposure, and warnings for figures a step could not compute."""

from __future__ import annotations

import math
from decimal import Decimal as D
from typing import Any

import numpy as np
import pytest
import statsmodels.api as sm
from rest_framework.test import APIClient

from batch import services as batch_services
from batch.models import JobSource
from marketdata import calendar
from marketdata import services as marketdata_services
from marketdata.models import AssetType, PriceBar, Quote, Security
from portfolios import services as portfolio_services
from portfolios.models import Portfolio, Position, PositionType
from portfolios.selectors import cash_balance
from risk import jobs, services
from risk.book import stock_rate_betas
from risk.models import PortfolioRiskMetrics, PositionFactorExposure, PositionGreeks
from risk.services import json_safe
from risk.tests.test_risk_api import (  # noqa: F401 - fixtures
    NOW,
    SESSIONS,
    TODAY,
    _rate_beta,
    _run_all,
    risk_book,
    risk_market,
)

pytestmark = pytest.mark.django_db
ABSURD = "SPY270115C99999999"
VIX_CALL = "VIX261216C00025000"


def _returns(symbol: str) -> np.ndarray:
    closes = np.array(
        [
            float(c)
            for c in PriceBar.objects.filter(security_id=symbol)
            .order_by("date")
            .values_list("adj_close", flat=True)
        ]
    )
    return (closes[1:] / closes[:-1] - 1)[-252:]


def test_portfolio_beta_is_the_single_factor_beta_on_every_endpoint(
    auth_client: APIClient, risk_book: Portfolio
) -> None:
    _run_all(risk_book)
    held = {"AAPL": 100, "XOM": -50, "BND": 200}
    price = {s: float(Quote.objects.get(security_id=s).last) for s in held}
    value = sum(q * price[s] for s, q in held.items()) + float(cash_balance(portfolio=risk_book))
    # The reference: statsmodels OLS of the book's daily return (Σ dollars × return / value)
    # on SPY's, with an intercept: the single-factor beta of the portfolio.
    portfolio_return = sum(q * price[s] * _returns(s) for s, q in held.items()) / value
    reference = sm.OLS(portfolio_return, sm.add_constant(_returns("SPY"))).fit().params[1]

    pid = risk_book.id
    aggregations = auth_client.get(f"/api/v1/data/portfolios/{pid}/aggregations").json()
    summary = auth_client.get(f"/api/v1/data/portfolios/{pid}/risk-summary").json()
    metrics = auth_client.get(f"/api/v1/analytics/risk/{pid}/metrics").json()
    betas = {
        "aggregations": aggregations["factor_aggregations"]["portfolio_beta"],
        "risk-summary": summary["risk_metrics"]["portfolio_beta"],
        "metrics": metrics["risk_metrics"]["portfolio_beta"],
    }
    assert len(set(betas.values())) == 1, betas
    assert betas["metrics"] == pytest.approx(reference, abs=1e-8)


def _option(symbol: str, quantity: int, price: str, portfolio: Portfolio) -> None:
    portfolio_services.position_open(
        portfolio=portfolio,
        symbol=symbol,
        quantity=D(quantity),
        entry_price=D(price),
        entry_date=SESSIONS[-5],
        today=TODAY,
    )


def _assert_json_finite(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _assert_json_finite(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _assert_json_finite(v, f"{where}[{i}]")
    elif isinstance(value, float):
        assert math.isfinite(value), where


def test_an_absurd_strike_is_skipped_with_a_warning_and_the_rest_is_computed(
    auth_client: APIClient, risk_book: Portfolio
) -> None:
    # M4 refuses this contract now (portfolios' _validate_option); a row booked before that
    # rule, or written by any other path, must still not stop the batch.
    security = marketdata_services.option_security_ensure(symbol=ABSURD)
    Position.objects.create(
        portfolio=risk_book,
        security=security,
        quantity=D(1),
        position_type=PositionType.LC,
        entry_price=D("0.01"),
        entry_date=SESSIONS[-5],
    )
    _run_all(risk_book)
    metrics = PortfolioRiskMetrics.objects.get(portfolio=risk_book, method="historical")
    assert metrics.value_at_risk["1_day"]["95"] < 0  # the stocks are still computed
    assert {row["symbol"] for row in metrics.component_var} == {"AAPL", "XOM", "BND"}
    assert any(ABSURD in w for w in metrics.warnings), metrics.warnings
    for row in PortfolioRiskMetrics.objects.filter(portfolio=risk_book):
        for name in ("value_at_risk", "component_var", "performance", "greeks", "warnings"):
            _assert_json_finite(getattr(row, name), f"{row.method}.{name}")
        _assert_json_finite(row.factor_exposures, "factor_exposures")
        _assert_json_finite(row.risk_attribution, "risk_attribution")
    assert PositionFactorExposure.objects.filter(position__portfolio=risk_book).count() == 3
    body = auth_client.get(f"/api/v1/analytics/risk/{risk_book.id}/metrics").json()
    assert body["risk_metrics"]["value_at_risk"]["1_day"]["confidence_95"] < 0
    assert not any("has not run" in w for w in body["warnings"])
    assert any(ABSURD in w for w in body["warnings"])


def test_json_safe_turns_nan_and_infinities_into_null() -> None:
    raw = {
        "a": float("nan"),
        "b": [np.float64("inf"), -np.inf, 1.5, np.float32(2.0)],
        "c": {"d": D("NaN"), "e": D("1.25"), "f": np.int64(3), "g": np.array([np.nan, 1.0])},
        "h": np.bool_(True),
    }
    assert json_safe(raw) == {
        "a": None,
        "b": [None, None, 1.5, 2.0],
        "c": {"d": None, "e": 1.25, "f": 3, "g": [None, 1.0]},
        "h": True,
    }


@pytest.fixture
def vix(risk_market: dict[str, np.ndarray]) -> Security:
    """The VIX level, moving about −5 × the market each day, quoted at 20."""
    market = risk_market["SPY"]
    r = -5.0 * market + np.random.default_rng(7).normal(0.0, 0.03, len(market))
    levels = 20.0 * np.cumprod(1.0 + r) / np.prod(1.0 + r)  # ends at 20
    security = Security.objects.create(symbol="^VIX", name="VIX", asset_type=AssetType.INDEX)
    PriceBar.objects.bulk_create(
        PriceBar(
            security=security,
            date=d,
            close=D(f"{c:.4f}"),
            adj_close=D(f"{c:.4f}"),
            high=D(f"{c:.4f}"),
            low=D(f"{c:.4f}"),
            open=D(f"{c:.4f}"),
            volume=0,
            source="test",
        )
        for d, c in zip(SESSIONS, levels, strict=True)
    )
    last = D(f"{levels[-1]:.4f}")
    Quote.objects.create(
        security=security,
        last=last,
        bid=last,
        ask=last,
        timestamp=calendar.session_close_utc(TODAY),
        source="test",
    )
    return security


def test_vix_options_are_volatility_exposure(risk_book: Portfolio, vix: Security) -> None:
    _option(VIX_CALL, 10, "1.50", risk_book)
    services.greeks_for_portfolio(risk_book, now=NOW)
    services.factor_analysis_for_portfolio(risk_book, now=NOW)
    services.risk_metrics_for_portfolio(risk_book, now=NOW)
    metrics = PortfolioRiskMetrics.objects.get(portfolio=risk_book, method="historical")
    greeks = PositionGreeks.objects.get(position__security_id=VIX_CALL)
    assert greeks.model == "black76" and greeks.delta_dollars > 0
    stocks = sum(
        q * float(Quote.objects.get(security_id=s).last)
        for s, q in (("AAPL", 100), ("XOM", -50), ("BND", 200))
    )
    # The call's delta dollars stay out of the equity delta, but count in total_delta.
    assert metrics.greeks["net_delta_exposure"] == pytest.approx(stocks, abs=1e-6)
    assert metrics.greeks["options_delta_exposure"] == 0.0
    assert metrics.greeks["total_delta"] == pytest.approx(
        100 - 50 + 200 + greeks.delta * 10 * 100, rel=1e-12
    )
    # Its market exposure is the VIX's own (negative) beta times its delta dollars.
    exposure = PositionFactorExposure.objects.get(position__security_id=VIX_CALL)
    vix_beta = sm.OLS(_returns("^VIX"), sm.add_constant(_returns("SPY"))).fit().params[1]
    assert vix_beta < 0
    assert exposure.dollar_exposures["market"] == pytest.approx(
        vix_beta * greeks.delta_dollars, rel=1e-6
    )


def test_after_a_quality_refresh_the_null_var_says_why(
    auth_client: APIClient, risk_book: Portfolio
) -> None:
    # What POST /admin/batch/data-quality/refresh runs for a portfolio: Greeks, factors
    # and quality, not risk_metrics.
    services.greeks_for_portfolio(risk_book, now=NOW)
    services.factor_analysis_for_portfolio(risk_book, now=NOW)
    services.data_quality_for_portfolio(risk_book, now=NOW)
    body = auth_client.get(f"/api/v1/analytics/risk/{risk_book.id}/metrics").json()
    assert body["risk_metrics"]["value_at_risk"]["1_day"]["confidence_95"] is None
    assert any("risk_metrics step has not run" in w for w in body["warnings"]), body["warnings"]
    assert body["calculation_metadata"]["risk_free_source"]
    # Once risk_metrics runs, the figures are there and that warning is gone.
    services.risk_metrics_for_portfolio(risk_book, now=NOW)
    body = auth_client.get(f"/api/v1/analytics/risk/{risk_book.id}/metrics").json()
    assert body["risk_metrics"]["value_at_risk"]["1_day"]["confidence_95"] < 0
    assert not any("risk_metrics step has not run" in w for w in body["warnings"])


def test_stress_after_the_factor_step_keeps_one_beta(risk_book: Portfolio) -> None:
    """The factor step and the risk step store the same portfolio beta."""
    services.factor_analysis_for_portfolio(risk_book, now=NOW)
    services.risk_metrics_for_portfolio(risk_book, now=NOW)
    row = PortfolioRiskMetrics.objects.get(portfolio=risk_book, method="historical")
    assert row.performance["portfolio_beta"] == row.factor_exposures["exposures"]["market"]


def test_a_failing_risk_step_says_so_on_the_metrics_endpoint(
    auth_client: APIClient, risk_book: Portfolio, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(portfolio: Portfolio, **_: Any) -> dict[str, Any]:
        raise RuntimeError("an input the engine cannot use")

    monkeypatch.setattr(jobs, "risk_metrics_for_portfolio", boom)
    job = batch_services.job_create(
        job_name="risk_metrics", portfolio=risk_book, source=JobSource.API_TRIGGER
    )
    done = batch_services.job_run(job.pk)
    assert done.failed_items == 1
    body = auth_client.get(f"/api/v1/analytics/risk/{risk_book.id}/metrics").json()
    assert not any("has not run" in w for w in body["warnings"]), body["warnings"]
    assert any(
        "risk_metrics step failed" in w and "an input the engine cannot use" in w
        for w in body["warnings"]
    ), body["warnings"]


def test_stock_rate_betas_follow_real_history_then_proxies() -> None:
    for symbol, proxy, beta, reason in (
        ("NVDX", "AMD", 0.6, ""),
        ("BSKT", "basket:KO+PEP", 1.0, ""),
        ("LONG", "basket", 0.5, "Basket: KO 75.0%, PEP 25.0%. Stated."),
        ("CHAIN", "NVDX", 2.0, ""),
    ):
        Security.objects.create(
            symbol=symbol,
            name=symbol,
            asset_type=AssetType.STOCK,
            proxy_symbol=proxy,
            proxy_beta=beta,
            proxy_reason=reason,
        )
    Security.objects.create(symbol="NOPE", name="NOPE", asset_type=AssetType.STOCK)
    symbols = ["AMD", "NVDX", "BSKT", "LONG", "CHAIN", "NOPE", "BOND"]
    betas, warnings = stock_rate_betas(symbols, np.array([0, 0, 0, 0, 0, 0, 6.0]))
    amd, ko, pep = _rate_beta("AMD"), _rate_beta("KO"), _rate_beta("PEP")
    expected = [amd, 0.6 * amd, (ko + pep) / 2, 0.5 * (0.75 * ko + 0.25 * pep), 1.2 * amd, 0, 0]
    assert betas == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert warnings == ["No real history or proxy to fit a rate beta: a rate shock moves NOPE by 0"]
