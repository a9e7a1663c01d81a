"""One mark everywhere (issue 11): the three demo books, seeded and run through the full batch,
report the same total value to the cent on /complete, /risk-summary, the overview and the
aggregations, and every dollar figure of the risk responses is in cents."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.tokens import issue_for_new_session
from portfolios.models import Portfolio

pytestmark = pytest.mark.django_db
DEMO_EMAILS = (
    "demo_individual@sigmasight.com",
    "demo_hnw@sigmasight.com",
    "demo_hedgefundstyle@sigmasight.com",
)


def _is_cents(value: Any) -> bool:
    return value is None or round(value, 2) == value


@pytest.fixture
def demo_after_batch() -> list[Portfolio]:
    call_command("seed_demo", "--demo-users", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("run_batch", "--no-progress", stdout=open("/dev/null", "w"))  # noqa: SIM115
    return [Portfolio.objects.get(owner__email=email, is_default=True) for email in DEMO_EMAILS]


def test_the_demo_books_report_one_total_value_everywhere(
    demo_after_batch: list[Portfolio],
) -> None:
    for portfolio in demo_after_batch:
        client = APIClient()
        client.credentials(
            HTTP_AUTHORIZATION=f"Bearer {issue_for_new_session(portfolio.owner).access_token}"
        )
        pid = portfolio.id
        complete = client.get(f"/api/v1/data/portfolio/{pid}/complete").json()
        risk = client.get(f"/api/v1/data/portfolios/{pid}/risk-summary").json()
        overview = client.get(f"/api/v1/analytics/portfolio/{pid}/overview").json()
        aggregations = client.get(f"/api/v1/data/portfolios/{pid}/aggregations").json()
        listed = client.get("/api/v1/data/portfolios").json()["data"]
        values = {
            "complete": complete["summary"]["total_value"],
            "risk-summary": risk["risk_summary"]["portfolio_value"],
            "overview": overview["total_value"],
            "aggregations": aggregations["basic_aggregations"]["total_value"],
            "list": next(r["total_value"] for r in listed if r["id"] == str(pid)),
        }
        assert values["complete"] is not None, complete["warnings"]
        assert len(set(values.values())) == 1, (portfolio.owner.email, values)
        # The batch valued the same book: its stored value agrees to the cent.
        assert not [w for w in risk["warnings"] if w.startswith("Risk figures were computed")], (
            portfolio.owner.email,
            risk["warnings"],
        )
        assert risk["risk_summary"]["calculation_date"] is not None and risk["component_var"]
        # Every dollar figure of the risk summary is in cents.
        for row in risk["component_var"]:
            assert _is_cents(row["component_var"]) and _is_cents(row["marginal_var"]), row
        for block in (risk["value_at_risk"], risk["expected_shortfall"]):
            assert all(_is_cents(h["absolute"]) for h in block.values())
        greeks = risk["greeks_risk"]
        assert _is_cents(greeks["delta_equivalent"])
        assert all(_is_cents(v) for v in greeks["gamma_risk"].values())
        assert all(_is_cents(s["portfolio_impact"]) for s in risk["stress_scenarios"].values())
        g = aggregations.get("greeks_aggregations") or {}
        assert _is_cents(g.get("net_delta_exposure")) and _is_cents(g.get("options_notional"))
