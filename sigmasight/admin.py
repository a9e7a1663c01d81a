"""Admin building blocks every app's admin uses (the project registers no model here)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record ops may search and read but not edit: rows written by services (trades,
    the ledger, risk results) change only through them, so that every rule they enforce
    (transactions, locks, FIFO lots) holds."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
