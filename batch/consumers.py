from __future__ import annotations

from typing import Any

from sigmasight.ws import AuthenticatedConsumer

JOBS_GROUP = "jobs"


class JobsConsumer(AuthenticatedConsumer):
    """``/ws/jobs``: batch job progress, for admins only (others are closed with 4403)."""

    required_permission = "admin"

    async def groups_for(self, user: Any) -> list[str]:
        return [JOBS_GROUP]
