"""``GET``/``PUT /trading/config``: the spec's defaults until a change is saved, ranges
refused with field errors (nothing written), live mode refused without a broker, a viewer
cannot change it, and one user's config is never another's."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from accounts.tokens import issue_for_new_session
from tests.contract import assert_error_envelope, assert_matches_example, spec_example
from trading import brokers
from trading.models import TradingConfig

pytestmark = pytest.mark.django_db
URL = "/api/v1/trading/config"
SPEC_DEFAULTS = {
    "trading_mode": "paper",
    "position_size": 24000,
    "profit_target": 0.10,
    "stop_loss": 0.10,
    "confidence_threshold": 0.65,
    "auto_execute": False,
    "max_positions": 10,
    "daily_loss_limit": 2400,
}


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_for_new_session(user).access_token}")
    return client


def test_a_new_user_reads_the_specs_defaults_and_reading_writes_nothing(
    auth_client: APIClient,
) -> None:
    response = auth_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert_matches_example(body, spec_example("smart-0dte-api.md", "GET /trading/config"))
    assert {k: body[k] for k in SPEC_DEFAULTS} == SPEC_DEFAULTS
    assert body["broker"] == "paper" and body["saved"] is False
    assert not TradingConfig.objects.exists()


def test_a_change_keeps_the_other_fields_and_is_the_users_alone(
    auth_client: APIClient, make_user: Any
) -> None:
    changed = auth_client.put(
        URL, {"position_size": 30000, "profit_target": "0.12", "auto_execute": True}, format="json"
    )
    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert body["position_size"] == 30000 and body["profit_target"] == 0.12
    assert body["auto_execute"] is True and body["saved"] is True
    assert body["stop_loss"] == 0.10 and body["max_positions"] == 10  # untouched
    row = TradingConfig.objects.get(user=auth_client.user)  # type: ignore[attr-defined]
    assert row.position_size == Decimal("30000.00") and row.profit_target == Decimal("0.1200")
    assert auth_client.get(URL).json() == body

    again = auth_client.put(URL, {"stop_loss": "0.08"}, format="json").json()
    assert again["stop_loss"] == 0.08 and again["position_size"] == 30000
    assert TradingConfig.objects.count() == 1

    other = _client(make_user(role="trader"))
    assert other.get(URL).json()["position_size"] == 24000  # still the defaults


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("position_size", 0),
        ("position_size", -100),
        ("position_size", "20000000"),
        ("profit_target", 0),
        ("profit_target", "11"),
        ("stop_loss", "1.5"),
        ("stop_loss", "0"),
        ("confidence_threshold", "1.01"),
        ("confidence_threshold", "-0.1"),
        ("max_positions", 0),
        ("max_positions", 101),
        ("max_positions", "1.5"),
        ("daily_loss_limit", 0),
        ("auto_execute", "sometimes"),
        ("trading_mode", "margin"),
        ("position_size", "NaN"),
        ("leverage", 2),  # not a field: refused, not ignored
    ],
)
def test_out_of_range_values_are_field_errors_and_change_nothing(
    auth_client: APIClient, field: str, value: Any
) -> None:
    auth_client.put(URL, {"max_positions": 5}, format="json")
    valid = {"auto_execute": True} if field != "auto_execute" else {"stop_loss": "0.2"}
    response = auth_client.put(URL, {**valid, field: value}, format="json")
    assert response.status_code == 422, (field, value, response.content)
    assert ["body", field] in [item["loc"] for item in response.json()["detail"]]
    row = TradingConfig.objects.get()  # the valid field beside it was not applied either
    assert (row.max_positions, row.auto_execute, row.stop_loss) == (5, False, Decimal("0.1"))


def test_live_mode_is_refused_until_a_live_broker_is_configured(
    auth_client: APIClient, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(brokers, "_BROKERS", dict(brokers._BROKERS))  # the fake stays here
    response = auth_client.put(URL, {"trading_mode": "live", "position_size": 30000}, format="json")
    assert response.status_code == 422
    assert_error_envelope(response.json(), code="LIVE_TRADING_UNAVAILABLE")
    assert response.json()["error"]["details"]["available_modes"] == ["paper"]
    assert response.json()["detail"][0]["loc"] == ["body", "trading_mode"]
    assert not TradingConfig.objects.exists()

    class FakeLiveBroker:
        name = "fake-live"
        is_live = True

    brokers.register_broker(FakeLiveBroker())
    settings.TRADING_LIVE_BROKER = "fake-live"
    live = auth_client.put(URL, {"trading_mode": "live"}, format="json")
    assert live.status_code == 200 and live.json()["broker"] == "fake-live"
    settings.TRADING_LIVE_BROKER = ""  # unconfigured later: the config says no one executes
    assert auth_client.get(URL).json()["broker"] is None


def test_a_viewer_reads_but_cannot_change_and_anonymous_is_refused(make_user: Any) -> None:
    viewer = _client(make_user(role="viewer"))
    assert viewer.get(URL).status_code == 200
    assert viewer.put(URL, {"max_positions": 3}, format="json").status_code == 403
    assert not TradingConfig.objects.exists()
    assert APIClient().get(URL).status_code == 401


def test_the_table_refuses_a_config_outside_the_ranges(trader: Any) -> None:
    fields = {k: v for k, v in SPEC_DEFAULTS.items()}
    with pytest.raises(IntegrityError), transaction.atomic():
        TradingConfig.objects.create(user=trader, **{**fields, "stop_loss": Decimal("2")})
