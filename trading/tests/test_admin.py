"""The trading admin: the pages load, the risk audit log is read-only, and the halt and
resume actions go through the services (an audit entry each, the admin as the actor)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from trading import services
from trading.models import RiskEvent, TradingAccount

pytestmark = pytest.mark.django_db


def _admin_client(make_user: Any) -> tuple[Client, Any]:
    admin = make_user(is_superuser=True, is_staff=True, role="admin")
    client = Client()
    client.force_login(admin)
    return client, admin


@pytest.mark.parametrize(
    "model", ["tradingconfig", "tradingaccount", "trade", "strategyposition", "riskevent"]
)
def test_the_trading_changelists_load(make_user: Any, model: str) -> None:
    trader = make_user(role="trader")
    services.account_halt(user=trader, reason="desk", close_positions=False)
    client, _ = _admin_client(make_user)
    assert client.get(f"/admin/trading/{model}/").status_code == 200
    assert client.get(f"/admin/trading/{model}/?q=desk").status_code == 200


def test_the_risk_log_cannot_be_added_changed_or_deleted(make_user: Any) -> None:
    trader = make_user(role="trader")
    services.account_halt(user=trader, reason="desk", close_positions=False)
    event = RiskEvent.objects.get(user=trader)
    client, _ = _admin_client(make_user)
    assert client.get("/admin/trading/riskevent/add/").status_code == 403
    assert (
        client.post(f"/admin/trading/riskevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert RiskEvent.objects.filter(pk=event.pk).exists()


def test_the_admin_actions_halt_and_resume_through_the_services(make_user: Any) -> None:
    trader = make_user(role="trader")
    account = services.trading_account_ensure(user=trader)
    client, admin = _admin_client(make_user)
    changelist = "/admin/trading/tradingaccount/"
    response = client.post(changelist, {"action": "halt", "_selected_action": [account.pk]})
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.state == "HALTED"
    halted = RiskEvent.objects.get(user=trader, state_to="HALTED")
    assert halted.actor_id == admin.pk and admin.email in halted.reason
    client.post(changelist, {"action": "resume", "_selected_action": [account.pk]})
    assert TradingAccount.objects.get(pk=account.pk).state == "ACTIVE"
    assert RiskEvent.objects.filter(user=trader, kind="transition").count() == 2
