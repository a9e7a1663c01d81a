"""One permission class per role: viewer (read), trader (trade), admin (batch/system).

Part of the shared API library so that every app (the batch runner included) guards its
views the same way without importing the accounts app: a user only needs
``has_role(permission)``, which ``accounts.User`` provides.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class _HasRole(BasePermission):
    role = "viewer"
    message = "You do not have permission to perform this action"

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_role(self.role))


class IsViewer(_HasRole):
    role = "viewer"


class IsTrader(_HasRole):
    role = "trader"
    message = "The trader permission is required"


class IsAdmin(_HasRole):
    role = "admin"
    message = "The admin permission is required"
