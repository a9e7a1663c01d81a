"""The fee engine against hand-computed cases (rates as the settings' defaults)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from trading.engine.fees import FeeSchedule, commission, fill_fees, total_fees
from trading.selectors import fee_schedule

SCHEDULE = FeeSchedule(
    commission_preset="per_contract",
    occ_per_contract=D("0.025"),
    orf_per_contract=D("0.02"),
    taf_per_contract=D("0.00329"),
    sec_per_million=D("20.60"),
)


def test_a_bull_call_spread_of_ten_packages_by_hand() -> None:
    """Buy 10 calls at 2.40, sell 10 at 1.10, per-contract commission."""
    buy = fill_fees(SCHEDULE, side="buy", contracts=10, premium=D("2.40"))
    # 10 × 0.65; OCC 10 × 0.025; ORF 10 × 0.02; no TAF or SEC fee on a buy.
    assert (buy.commission, buy.occ, buy.orf, buy.taf, buy.sec) == (
        D("6.50"),
        D("0.25"),
        D("0.20"),
        D("0.00"),
        D("0.00"),
    )
    sell = fill_fees(SCHEDULE, side="sell", contracts=10, premium=D("1.10"))
    # TAF 10 × 0.00329 = 0.0329 → 0.04; SEC 10 × 100 × 1.10 = $1,100 × 20.60 / 1e6 = 0.02266
    # → 0.03.
    assert (sell.taf, sell.sec) == (D("0.04"), D("0.03"))
    assert sell.total == D("6.50") + D("0.25") + D("0.20") + D("0.04") + D("0.03") == D("7.02")
    assert total_fees([buy, sell]) == D("6.95") + D("7.02")


def test_commission_tiers_the_order_minimum_and_the_flat_presets() -> None:
    assert commission("per_contract", contracts=3, premium=D("0.10")) == D("1.95")
    assert commission("per_contract", contracts=3, premium=D("0.0999")) == D("1.50")
    assert commission("per_contract", contracts=3, premium=D("0.04")) == D("1.00")  # 0.75 → min
    assert commission("per_contract", contracts=3, premium=D("0.04"), order_minimum=False) == D(
        "0.75"
    )
    assert commission("per_contract", contracts=1, premium=D("5")) == D("1.00")  # 0.65 → min
    assert commission("flat_1", contracts=7, premium=D("0.01")) == D("7.00")
    assert commission("flat_035", contracts=7, premium=D("9")) == D("2.45")
    assert commission("none", contracts=7, premium=D("9")) == D("0.00")


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        fill_fees(SCHEDULE, side="short", contracts=1, premium=D("1"))
    with pytest.raises(ValueError):
        fill_fees(SCHEDULE, side="buy", contracts=0, premium=D("1"))
    with pytest.raises(ValueError):
        fill_fees(SCHEDULE, side="buy", contracts=1, premium=D("NaN"))
    with pytest.raises(ValueError):
        commission("per_share", contracts=1, premium=D("1"))
    with pytest.raises(ValueError):
        FeeSchedule("none", D("-0.01"), D("0"), D("0"), D("0"))


def test_the_settings_give_the_schedule_of_the_rates_in_force(settings: object) -> None:
    assert fee_schedule() == SCHEDULE
    settings.FEE_SEC_PER_MILLION = "bad"  # type: ignore[attr-defined]
    with pytest.raises(ArithmeticError):
        fee_schedule()
