from __future__ import annotations

from typing import Any
from uuid import UUID

from channels.db import database_sync_to_async

from portfolios.models import Portfolio
from sigmasight.ws import CLOSE_NOT_FOUND, AuthenticatedConsumer, group_name


def portfolio_group(portfolio_id: object) -> str:
    return group_name("portfolio", portfolio_id)


@database_sync_to_async
def _owns(user: Any, portfolio_id: str) -> bool:
    try:
        UUID(portfolio_id)
    except ValueError:
        return False
    return Portfolio.objects.owned_by(user).filter(pk=portfolio_id).exists()


class PortfolioConsumer(AuthenticatedConsumer):
    """``/ws/portfolio/{id}``: risk and P&L updates; another user's portfolio closes 4404."""

    async def groups_for(self, user: Any) -> list[str]:
        portfolio_id = str(self.scope["url_route"]["kwargs"]["portfolio_id"])
        if not await _owns(user, portfolio_id):
            raise self.SocketRefused(CLOSE_NOT_FOUND, "Portfolio not found")
        return [portfolio_group(portfolio_id)]
