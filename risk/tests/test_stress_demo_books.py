"""Issue 11 acceptance: on the three demo books, all 18 stress scenarios leave every long
stock above -100% of its value (shocks act as log returns), and an all-stock book's
rates_up_100bp is not exactly $0 any more."""

from __future__ import annotations

import datetime as dt
import os

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from portfolios.models import Portfolio
from risk import services
from risk.book import risk_inputs
from risk.models import StressScenario

pytestmark = pytest.mark.django_db
NOW = timezone.make_aware(dt.datetime(2026, 11, 25, 12, 0), dt.UTC)


def test_no_long_stock_loses_more_than_its_value_in_any_scenario(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    with open(os.devnull, "w") as sink:
        call_command("seed_demo", "--demo-users", stdout=sink)
    scenarios = list(StressScenario.objects.filter(is_active=True))
    assert len(scenarios) == 18
    books = Portfolio.objects.filter(owner__email__startswith="demo_")
    assert books.count() == 3
    on, as_of = services._pricing_moment(NOW)
    for portfolio in books:
        inputs = risk_inputs(portfolio, on=on, as_of=as_of, lookback=252)
        results, _ = services.scenario_results(inputs, scenarios)
        long_stock = ~inputs.book.is_option & (inputs.book.quantity > 0)
        assert long_stock.any()
        value = inputs.market_values[long_stock]
        for scenario, result in zip(scenarios, results, strict=True):
            for impacts in (result.direct_by_position, result.correlated_by_position):
                loss = impacts[long_stock]
                assert np.all(np.isfinite(loss))
                worst = int(np.argmin(loss / value))
                assert np.all(loss > -value), (
                    portfolio.name,
                    scenario.id,
                    np.asarray(inputs.symbols)[long_stock][worst],
                    loss[worst] / value[worst],
                )
        rates = results[[s.id for s in scenarios].index("rates_up_100bp")]
        stock_only = rates.direct_by_position[~inputs.book.is_option]
        assert np.any(stock_only != 0.0), portfolio.name
