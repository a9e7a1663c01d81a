"""The contract helper must be able to fail, or the contract tests prove nothing."""

from __future__ import annotations

import pytest

from tests.contract import (
    SHARED_SPEC_DIR,
    SIGMASIGHT,
    VENDORED_SPEC_DIR,
    ZERO_DTE,
    contract_errors,
    spec_example,
)


def test_missing_key_is_reported() -> None:
    errors = contract_errors({"a": 1}, {"a": 1, "b": 2})
    assert errors == ["$: missing key 'b'"]


def test_type_mismatch_is_reported() -> None:
    assert contract_errors({"a": "1"}, {"a": 1}) == ["$.a: expected number, got string ('1')"]


def test_null_matches_any_type_and_extra_keys_are_allowed() -> None:
    assert contract_errors({"a": None, "extra": 1}, {"a": 1.5}) == []
    assert contract_errors({"a": 3}, {"a": None}) == []


def test_list_items_are_checked_against_the_example_items() -> None:
    example = {"rows": [{"x": 1, "y": "a"}]}
    assert contract_errors({"rows": [{"x": 2, "y": "b"}, {"x": 3}]}, example) == [
        "$.rows[1]: missing key 'y'"
    ]


def test_maps_check_values_not_keys() -> None:
    example = {"by_sector": {"Technology": {"count": 1, "value": 2.0}}}
    actual = {"by_sector": {"Energy": {"count": 3, "value": 1.0}, "Utilities": {"count": 1}}}
    assert contract_errors(actual, example, maps=("$.by_sector",)) == [
        "$.by_sector.Utilities: missing key 'value'"
    ]
    assert contract_errors(actual, example) == ["$.by_sector: missing key 'Technology'"]


def test_data_not_available_accepts_a_number() -> None:
    assert contract_errors({"pnl": 12.5}, {"pnl": "Data Not Available"}) == []


def test_spec_examples_are_found_by_heading() -> None:
    login = spec_example(SIGMASIGHT, "1.1 Login")
    assert set(login) == {"access_token", "token_type", "expires_in"}
    zero_dte_login = spec_example(ZERO_DTE, "POST /auth/login")
    assert "refresh_token" in zero_dte_login and "permissions" in zero_dte_login
    with pytest.raises(LookupError):
        spec_example(SIGMASIGHT, "no such heading")


def test_vendored_specs_match_the_shared_ones() -> None:
    """docs/spec is a copy for clones without ../shared; it must not drift."""
    if not SHARED_SPEC_DIR.is_dir():
        pytest.skip("../shared/spec is not beside this checkout")
    for name in (SIGMASIGHT, ZERO_DTE):
        assert (SHARED_SPEC_DIR / name).read_text() == (VENDORED_SPEC_DIR / name).read_text()
