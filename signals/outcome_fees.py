"""The fee model a signal's outcome is net of. The app that books fees (trading, a layer
above this one) registers it when it loads, so this app needs no import of it; without
one registered, outcomes are gross and their definition says so.

A model takes a package's legs as (action, contracts per package, fill price per share)
and the number of packages it is sized for, and returns the round trip's fees per
package in dollars: the opening fills at those prices and the closing fills (the other
side of each leg) at the same prices, an estimate (the commission tiers and the SEC fee
move little with the exit price).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

LegFill = tuple[str, int, float]
FeeModel = Callable[[Sequence[LegFill], int], float]

_registered: list[FeeModel] = []


def register_fee_model(model: FeeModel) -> None:
    """Make ``model`` the one outcomes are net of (a second registration replaces it)."""
    _registered[:] = [model]


def round_trip_fees(legs: Sequence[LegFill], packages: int | None) -> float | None:
    """The registered model's round-trip fees per package, dollars (None without a model
    or a positive package count)."""
    if not _registered or not packages or packages < 1:
        return None
    return float(_registered[0](legs, packages))
