"""Fees of a US listed-option fill: the broker's commission and the regulatory fees.

Money is ``Decimal`` dollars throughout. Quantities are whole contracts; ``premium`` is the
fill price per share of underlying (an option price: $2.40 means $240 a contract), and a
contract is ``multiplier`` shares (100).

Commission presets (``COMMISSION_PRESETS``):

* ``none``: nothing.
* ``per_contract``: $0.65 a contract, $0.50 where the premium is below $0.10 and $0.25
  below $0.05, at least $1.00 per order (Interactive Brokers Pro's tiered schedule). Each
  leg of a package is its own order, so the minimum applies per leg.
* ``flat_1`` and ``flat_035``: $1.00 or $0.35 a contract, whatever the premium.

Regulatory fees (rates from the schedule, which the caller takes from settings):

* OCC clearing fee: per contract, on buys and sells.
* Options regulatory fee (ORF): per contract, on buys and sells.
* FINRA trading activity fee (TAF): per contract, on sells only.
* SEC Section 31 fee: dollars per million of sale proceeds, on sells only.

Each fee of a fill is rounded up to the cent, as brokers pass them through (a $0.0329
TAF is charged $0.04).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

__all__ = [
    "COMMISSION_PRESETS",
    "FeeSchedule",
    "FillFees",
    "commission",
    "fill_fees",
    "total_fees",
]

CENT = Decimal("0.01")
_MILLION = Decimal(1_000_000)

#: (premium below, dollars per contract) tiers, lowest first, then the rate above them.
_PER_CONTRACT_TIERS = ((Decimal("0.05"), Decimal("0.25")), (Decimal("0.10"), Decimal("0.50")))
_PER_CONTRACT_RATE = Decimal("0.65")
_PER_CONTRACT_ORDER_MINIMUM = Decimal("1.00")
_FLAT = {"flat_1": Decimal("1.00"), "flat_035": Decimal("0.35")}

COMMISSION_PRESETS = ("none", "per_contract", "flat_1", "flat_035")

SIDES = ("buy", "sell")


@dataclass(frozen=True)
class FeeSchedule:
    """The commission preset and the regulatory rates (dollars per contract, and dollars
    per million dollars of sale proceeds for the SEC fee)."""

    commission_preset: str
    occ_per_contract: Decimal
    orf_per_contract: Decimal
    taf_per_contract: Decimal
    sec_per_million: Decimal

    def __post_init__(self) -> None:
        if self.commission_preset not in COMMISSION_PRESETS:
            raise ValueError(
                f"commission preset {self.commission_preset!r} is not one of {COMMISSION_PRESETS}"
            )
        for name in ("occ_per_contract", "orf_per_contract", "taf_per_contract", "sec_per_million"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                raise ValueError(f"{name} must be a finite, non-negative Decimal, got {value!r}")


@dataclass(frozen=True)
class FillFees:
    """The fees of one fill, each in dollars rounded up to the cent."""

    commission: Decimal
    occ: Decimal
    orf: Decimal
    taf: Decimal
    sec: Decimal

    @property
    def regulatory(self) -> Decimal:
        return self.occ + self.orf + self.taf + self.sec

    @property
    def total(self) -> Decimal:
        return self.commission + self.regulatory


def _up_to_cent(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_CEILING)


def _check(contracts: int, premium: Decimal) -> None:
    if isinstance(contracts, bool) or not isinstance(contracts, int) or contracts <= 0:
        raise ValueError(f"contracts must be a positive whole number, got {contracts!r}")
    if not isinstance(premium, Decimal) or not premium.is_finite() or premium < 0:
        raise ValueError(f"premium must be a finite, non-negative Decimal, got {premium!r}")


def _per_contract_rate(premium: Decimal) -> Decimal:
    for below, rate in _PER_CONTRACT_TIERS:
        if premium < below:
            return rate
    return _PER_CONTRACT_RATE


def commission(
    preset: str, *, contracts: int, premium: Decimal, order_minimum: bool = True
) -> Decimal:
    """The commission of ``contracts`` filled at ``premium`` (dollars per share).
    ``order_minimum``: the fill is its order's first, so the per-order minimum applies (a
    later partial fill of the same order pays its contracts only)."""
    _check(contracts, premium)
    if preset == "none":
        return Decimal("0.00")
    if preset in _FLAT:
        return _up_to_cent(_FLAT[preset] * contracts)
    if preset != "per_contract":
        raise ValueError(f"commission preset {preset!r} is not one of {COMMISSION_PRESETS}")
    due = _up_to_cent(_per_contract_rate(premium) * contracts)
    return max(_PER_CONTRACT_ORDER_MINIMUM, due) if order_minimum else due


def fill_fees(
    schedule: FeeSchedule,
    *,
    side: str,
    contracts: int,
    premium: Decimal,
    multiplier: int = 100,
    order_minimum: bool = True,
) -> FillFees:
    """The fees of one fill of an option order (``order_minimum`` as in :func:`commission`).
    Sale proceeds are ``premium × multiplier × contracts``."""
    if side not in SIDES:
        raise ValueError(f"side must be buy or sell, got {side!r}")
    _check(contracts, premium)
    selling = side == "sell"
    zero = Decimal("0.00")
    proceeds = premium * multiplier * contracts
    return FillFees(
        commission=commission(
            schedule.commission_preset,
            contracts=contracts,
            premium=premium,
            order_minimum=order_minimum,
        ),
        occ=_up_to_cent(schedule.occ_per_contract * contracts),
        orf=_up_to_cent(schedule.orf_per_contract * contracts),
        taf=_up_to_cent(schedule.taf_per_contract * contracts) if selling else zero,
        sec=_up_to_cent(schedule.sec_per_million * proceeds / _MILLION) if selling else zero,
    )


def total_fees(fills: Iterable[FillFees]) -> Decimal:
    """The sum of the fills' fees, dollars."""
    return sum((f.total for f in fills), Decimal("0.00"))
