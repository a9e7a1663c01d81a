# ruff: noqa: F811 - the fixtures imported from test_risk_api are used as parameters
"""Issue 12, the batch reads once: a run's Greeks, factor, VaR, stress and correlation
steps read each portfolio's positions, Greeks and risk inputs once, and store the same
figures as steps that read for themselves."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from batch import services as batch_services
from batch.models import JobSource, JobStatus
from risk import book as risk_book_module
from risk import services
from risk.book import SharedReads
from risk.models import PortfolioRiskMetrics, PositionFactorExposure, PositionGreeks
from risk.tests.test_model_integrity import VIX_CALL, _option, vix  # noqa: F401 - fixture
from risk.tests.test_risk_api import NOW, risk_book, risk_market  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

STEPS = (
    services.greeks_for_portfolio,
    services.factor_analysis_for_portfolio,
    services.risk_metrics_for_portfolio,
    services.stress_for_portfolio,
    services.correlations_for_portfolio,
)


class _Counting:
    """Wraps a function and counts its calls."""

    def __init__(self, target: Any) -> None:
        self.target, self.calls = target, 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.target(*args, **kwargs)


def _stored(portfolio: Any) -> dict[str, Any]:
    metrics = {
        row.method: (row.value_at_risk, row.expected_shortfall, row.performance, row.greeks)
        for row in PortfolioRiskMetrics.objects.filter(portfolio=portfolio)
    }
    greeks = {
        g.position.security_id: (g.delta, g.gamma, g.implied_volatility)
        for g in PositionGreeks.objects.filter(position__portfolio=portfolio)
    }
    exposures = {
        e.position.security_id: e.dollar_exposures
        for e in PositionFactorExposure.objects.filter(position__portfolio=portfolio)
    }
    return {"metrics": metrics, "greeks": greeks, "exposures": exposures}


def test_a_run_reads_positions_and_greeks_once_and_stores_the_same_figures(
    risk_book: Any, vix: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _option(VIX_CALL, 10, "1.50", risk_book)
    for work in STEPS:
        work(risk_book, now=NOW)
    alone = _stored(risk_book)

    positions = _Counting(risk_book_module.open_positions)
    greeks = _Counting(risk_book_module.compute_greeks)
    monkeypatch.setattr(risk_book_module, "open_positions", positions)
    monkeypatch.setattr(risk_book_module, "compute_greeks", greeks)
    shared = SharedReads()
    for work in STEPS:
        work(risk_book, now=NOW, shared=shared)
    assert (positions.calls, greeks.calls) == (1, 1)
    together = _stored(risk_book)
    assert together["greeks"] == alone["greeks"] and VIX_CALL in together["greeks"]
    assert together["exposures"] == alone["exposures"]
    assert set(together["metrics"]) == {"historical", "parametric", "monte_carlo"}
    for method, figures in alone["metrics"].items():
        assert together["metrics"][method] == figures, method


def test_past_its_budget_a_run_reads_again_rather_than_keep_more(
    risk_book: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    positions = _Counting(risk_book_module.open_positions)
    monkeypatch.setattr(risk_book_module, "open_positions", positions)
    shared = SharedReads(max_positions=2)  # the book holds 3 positions
    for work in STEPS[1:]:
        work(risk_book, now=NOW, shared=shared)
    assert positions.calls == 4  # one read per step: nothing was kept
    metrics = PortfolioRiskMetrics.objects.get(portfolio=risk_book, method="historical")
    assert np.isfinite(metrics.value_at_risk["1_day"]["95"])


def test_the_daily_chain_shares_one_read_of_each_book(
    risk_book: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    positions = _Counting(risk_book_module.open_positions)
    monkeypatch.setattr(risk_book_module, "open_positions", positions)
    steps = ["greeks_calculation", "factor_analysis", "risk_metrics", "stress_testing"]
    for name in steps:
        job = batch_services.job_create(
            job_name=name, source=JobSource.API_TRIGGER, portfolio_ids=[risk_book.id]
        )
        assert batch_services.job_run(job.pk).status == JobStatus.COMPLETED
    # Separate jobs: one read each (a run's reads do not outlive it).
    assert positions.calls == len(steps)
    positions.calls = 0
    job = batch_services.job_create(
        job_name="full_portfolio_calculation",
        source=JobSource.API_TRIGGER,
        portfolio_ids=[risk_book.id],
    )
    assert batch_services.job_run(job.pk).status == JobStatus.COMPLETED
    assert positions.calls == 1
