"""Pin risk of a short option near expiry: the underlying closing at or near the strike
leaves it unknown, until after the close, whether the short leg is assigned (and the
spread's other leg may not cover it). A short strike within a set distance of spot is
flagged.

Strikes and spot are ``Decimal`` dollars a share of the underlying; the distance is a
fraction of spot (0.001 = 0.1%, $0.60 at a spot of 600).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal


def pinned_strikes(
    short_strikes: Iterable[Decimal], *, spot: Decimal | None, distance: Decimal
) -> list[Decimal]:
    """The short strikes at most ``distance`` × ``spot`` from ``spot`` (the bound counts),
    ascending, each once. Empty without a positive spot: nothing is flagged on an unknown
    price. Worked case: spot 600.40, distance 0.001 → a band of 0.6004; strikes 600 and
    601 (0.40 and 0.60 away) are pinned, 599 (1.40 away) is not."""
    if spot is None or spot <= 0:
        return []
    band = distance * spot
    return sorted({k for k in short_strikes if abs(k - spot) <= band})
