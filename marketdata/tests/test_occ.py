"""Tests of marketdata.occ: every accepted OCC symbol form, the canonical round trip and
each malformed case. Pure Python, no Django."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketdata.occ import InvalidOptionSymbol, OptionContract, looks_like_option, parse_occ

SPY_CALL = OptionContract("SPY", datetime.date(2024, 9, 20), "C", Decimal("550"))


@pytest.mark.parametrize(
    "symbol",
    [
        "SPY240920C00550000",  # canonical
        "SPY_240920C00550000",  # underscore separator
        "SPY   240920C00550000",  # 21-character OCC form, root padded to 6
        "spy240920c00550000",  # case-insensitive
        "  SPY240920C00550000\n",  # surrounding whitespace
        "SPY240920C550",  # short form, dollars
        "SPY240920C550.000",
    ],
)
def test_accepted_forms_parse_to_the_same_contract(symbol: str) -> None:
    contract = parse_occ(symbol)
    assert contract == SPY_CALL
    assert contract.occ_symbol == "SPY240920C00550000"
    assert contract.is_call
    assert contract.multiplier == 100
    assert looks_like_option(symbol)


def test_padded_form_is_21_characters() -> None:
    padded = "SPY   240920C00550000"
    assert len(padded) == 21
    assert parse_occ(padded).underlying == "SPY"


@pytest.mark.parametrize(
    ("symbol", "underlying", "expiry", "right", "strike", "canonical"),
    [
        ("SPY240115C445", "SPY", (2024, 1, 15), "C", "445", "SPY240115C00445000"),
        ("SPY240115P445.5", "SPY", (2024, 1, 15), "P", "445.5", "SPY240115P00445500"),
        ("AAPL250117P00187500", "AAPL", (2025, 1, 17), "P", "187.5", "AAPL250117P00187500"),
        ("SPXW241231C05900000", "SPXW", (2024, 12, 31), "C", "5900", "SPXW241231C05900000"),
        ("GOOGL 260320C00175000", "GOOGL", (2026, 3, 20), "C", "175", "GOOGL260320C00175000"),
        ("AAPL1240920C00150000", "AAPL1", (2024, 9, 20), "C", "150", "AAPL1240920C00150000"),
        ("F240621P00000500", "F", (2024, 6, 21), "P", "0.5", "F240621P00000500"),
        ("VIX240717C00017125", "VIX", (2024, 7, 17), "C", "17.125", "VIX240717C00017125"),
        ("BRK.B240920C00400000", "BRK.B", (2024, 9, 20), "C", "400", "BRKB240920C00400000"),
        ("BRKB240920C00400000", "BRKB", (2024, 9, 20), "C", "400", "BRKB240920C00400000"),
        ("CPRT240920P00055000", "CPRT", (2024, 9, 20), "P", "55", "CPRT240920P00055000"),
        ("X240229C00099999", "X", (2024, 2, 29), "C", "99.999", "X240229C00099999"),
    ],
)
def test_fields_and_canonical_symbol(
    symbol: str,
    underlying: str,
    expiry: tuple[int, int, int],
    right: str,
    strike: str,
    canonical: str,
) -> None:
    contract = parse_occ(symbol)
    assert contract.underlying == underlying
    assert contract.expiry == datetime.date(*expiry)
    assert contract.right == right
    assert contract.is_call is (right == "C")
    assert contract.strike == Decimal(strike)
    assert str(contract.strike) == strike  # no trailing zeros, no exponent
    assert contract.occ_symbol == canonical
    assert parse_occ(canonical).occ_symbol == canonical
    assert str(contract) == canonical


@pytest.mark.parametrize(
    ("symbol", "message"),
    [
        ("", "not an OCC option symbol"),
        ("SPY", "not an OCC option symbol"),  # a stock
        ("SPY240920X00550000", "not an OCC option symbol"),  # bad right
        ("SPY240920C", "not an OCC option symbol"),  # no strike
        ("240920C00550000", "not an OCC option symbol"),  # no root
        ("1SPY240920C00550000", "not an OCC option symbol"),  # root starts with a digit
        ("TOOLONG240920C00550000", "invalid underlying"),  # 7-character root
        ("SPY24092C00550000", "not an OCC option symbol"),  # 5-digit date
        ("SPY241320C00550000", "invalid expiry date"),  # month 13
        ("SPY240230C00550000", "invalid expiry date"),  # 30 February
        ("SPY230229C00550000", "invalid expiry date"),  # 2023 is not a leap year
        ("SPY240920C00000000", "strike must be positive"),  # strike 0
        ("SPY240920C0", "strike must be positive"),
        ("SPY240920C445.1234", "more than 3 decimals"),
        ("SPY240920C-445", "not an OCC option symbol"),
        ("SPY240920C123456789", "does not fit 8 OCC digits"),
        ("SPY__240920C00550000", "not an OCC option symbol"),
        ("SPY 240920 C00550000", "not an OCC option symbol"),
        ("SP Y240920C00550000", "not an OCC option symbol"),
        ("BRK..B240920C00400000", "invalid underlying"),
        ("BRK.240920C00400000", "invalid underlying"),
        ("SPY240920C00550000X", "not an OCC option symbol"),
        ("O:SPY240920C00550000", "not an OCC option symbol"),
    ],
)
def test_malformed_symbols_raise_with_a_clear_message(symbol: str, message: str) -> None:
    with pytest.raises(InvalidOptionSymbol, match=message):
        parse_occ(symbol)
    assert not looks_like_option(symbol)


def test_invalid_option_symbol_is_a_value_error() -> None:
    assert issubclass(InvalidOptionSymbol, ValueError)
    with pytest.raises(ValueError):
        parse_occ("nope")


def test_non_strings_do_not_look_like_options() -> None:
    assert not looks_like_option(None)  # type: ignore[arg-type]
    assert not looks_like_option(240920)  # type: ignore[arg-type]
    with pytest.raises(InvalidOptionSymbol, match="must be a str"):
        parse_occ(b"SPY240920C00550000")  # type: ignore[arg-type]


def test_contract_normalises_case_and_strike_and_is_hashable() -> None:
    contract = OptionContract("spy", datetime.date(2024, 9, 20), "c", 550)  # type: ignore[arg-type]
    assert contract == SPY_CALL and hash(contract) == hash(SPY_CALL)
    assert contract.underlying == "SPY" and contract.right == "C"
    assert isinstance(contract.strike, Decimal)
    assert {contract, SPY_CALL, parse_occ("SPY240920C550")} == {SPY_CALL}
    mini = OptionContract("SPY", datetime.date(2024, 9, 20), "P", Decimal("550.50"), 10)
    assert mini.multiplier == 10 and not mini.is_call
    assert mini.occ_symbol == "SPY240920P00550500"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"right": "X"}, "invalid right"),
        ({"strike": Decimal("0")}, "strike must be positive"),
        ({"strike": Decimal("-5")}, "strike must be positive"),
        ({"strike": Decimal("NaN")}, "strike must be positive"),
        ({"strike": 550.0}, "strike must be a Decimal"),
        ({"strike": Decimal("1.0005")}, "more than 3 decimals"),
        ({"strike": Decimal("100000")}, "does not fit 8 OCC digits"),
        ({"multiplier": 0}, "multiplier must be positive"),
        ({"multiplier": 100.0}, "multiplier must be an int"),
        ({"underlying": ""}, "invalid underlying"),
        ({"underlying": "TOOLONG"}, "invalid underlying"),
        ({"expiry": datetime.datetime(2024, 9, 20, 16)}, "expiry must be a datetime.date"),
        ({"expiry": datetime.date(1999, 12, 17)}, "outside 2000-2099"),
    ],
)
def test_invalid_contracts_are_rejected(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {
        "underlying": "SPY",
        "expiry": datetime.date(2024, 9, 20),
        "right": "C",
        "strike": Decimal("550"),
    }
    with pytest.raises(InvalidOptionSymbol, match=message):
        OptionContract(**(fields | kwargs))  # type: ignore[arg-type]


def test_contract_is_frozen() -> None:
    with pytest.raises(AttributeError):
        SPY_CALL.strike = Decimal("1")  # type: ignore[misc]


@given(
    root=st.from_regex(r"[A-Z][A-Z0-9]{0,5}", fullmatch=True),
    expiry=st.dates(datetime.date(2000, 1, 1), datetime.date(2099, 12, 31)),
    is_call=st.booleans(),
    thousandths=st.integers(1, 99_999_999),
)
def test_round_trip_property(
    root: str, expiry: datetime.date, is_call: bool, thousandths: int
) -> None:
    contract = OptionContract(root, expiry, "C" if is_call else "P", Decimal(thousandths) / 1000)
    symbol = contract.occ_symbol
    assert len(symbol) == len(root) + 15
    assert parse_occ(symbol) == contract
    assert parse_occ(f"{root:<6}{symbol[len(root) :]}") == contract  # padded form
    assert parse_occ(f"{root}_{symbol[len(root) :]}".lower()) == contract
