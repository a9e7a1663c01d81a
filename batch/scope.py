"""Which portfolios a job may cover, as the app that owns portfolios says.

Jobs run over every live portfolio or over chosen ones. The runner checks chosen ids
(``POST /system/jobs``, ``run_batch --portfolio``) and counts the portfolios a cancel
affects, without importing the portfolios app: that app registers its selector here from
its ``AppConfig.ready()``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from uuid import UUID

#: ``live(ids)`` → the live portfolio ids among ``ids`` (every live one for None).
LivePortfolios = Callable[[Sequence[UUID] | None], list[UUID]]

_live: LivePortfolios | None = None


def register_portfolio_scope(live: LivePortfolios) -> None:
    global _live
    _live = live


def live_portfolio_ids(ids: Sequence[UUID] | None = None) -> list[UUID]:
    """The live portfolio ids among ``ids`` (all of them for None). Without a registered
    owner (a runner used on its own) no portfolio exists."""
    return [] if _live is None else list(_live(ids))
