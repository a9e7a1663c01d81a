"""Serializer fields that carry a unit: money in dollars (cents), prices (4 places),
percent and signed quantities. One definition, so every endpoint documents units alike."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from rest_framework import serializers

from sigmasight.iso4217 import is_currency
from sigmasight.limits import (
    CASH_MAX,
    DATE_MAX,
    DATE_MIN,
    FEES_MAX,
    PRICE_MAX,
    PRICE_MIN,
    QUANTITY_MAX,
)

CENT = Decimal("0.01")


def Money(**kwargs: object) -> serializers.DecimalField:
    """Dollars, rounded to cents, sent as a JSON number."""
    kwargs.setdefault("help_text", "US dollars")
    return RepresentableDecimalField(
        max_digits=22, decimal_places=2, coerce_to_string=False, rounding=ROUND_HALF_UP, **kwargs
    )


def Price(**kwargs: object) -> serializers.DecimalField:
    kwargs.setdefault("help_text", "Price per share (per option share for options), 4 places")
    return RepresentableDecimalField(
        max_digits=22, decimal_places=4, coerce_to_string=False, **kwargs
    )


def Percent(**kwargs: object) -> serializers.DecimalField:
    kwargs.setdefault("help_text", "Percent: 9.53 means 9.53%")
    return RepresentableDecimalField(
        max_digits=12, decimal_places=2, coerce_to_string=False, **kwargs
    )


def Quantity(**kwargs: object) -> serializers.FloatField:
    kwargs.setdefault("help_text", "Signed: negative is short; options count contracts")
    return serializers.FloatField(**kwargs)


def PercentFigure(help_text: str = "Percent: 83.33 means 83.33%") -> serializers.FloatField:
    """A computed percent figure (a score, a rate), null where it cannot be computed."""
    return serializers.FloatField(allow_null=True, help_text=help_text)


def Seconds(help_text: str = "Seconds") -> serializers.FloatField:
    return serializers.FloatField(allow_null=True, help_text=help_text)


def Timestamp(help_text: str = "ISO 8601 UTC") -> serializers.DateTimeField:
    return serializers.DateTimeField(allow_null=True, help_text=help_text)


def Strings(help_text: str) -> serializers.ListField:
    """A list of human-readable strings (issues, recommendations, names)."""
    return serializers.ListField(child=serializers.CharField(), help_text=help_text)


def cents(value: Any) -> Any:
    """A dollar figure rounded to cents, half away from zero on its decimal digits (so
    −12416.48226728505 → −12416.48); None, NaN and non-numbers pass through unchanged."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return value
    rounded = Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    return rounded if isinstance(value, Decimal) else float(rounded)


class MoneyFloat(serializers.FloatField):
    """Dollars computed in floating point (risk figures), sent rounded to cents."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "US dollars, rounded to cents")
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> Any:
        return cents(super().to_representation(value))


def round_dollar_keys(data: Any, keys: frozenset[str], *, inside: bool = False) -> Any:
    """Round to cents every number stored under one of ``keys``, at any depth (a key's value
    may itself be a block of dollars: ``gamma_risk: {1_percent_move: ...}``)."""
    if isinstance(data, dict):
        return {
            k: round_dollar_keys(v, keys, inside=inside or str(k) in keys) for k, v in data.items()
        }
    if isinstance(data, list | tuple):
        return [round_dollar_keys(v, keys, inside=inside) for v in data]
    return cents(data) if inside else data


class DollarKeysDict(serializers.DictField):
    """A free-form block whose dollar figures (under ``dollar_keys``, at any depth) are sent
    rounded to cents; everything else is sent as is. The keys are listed in the schema."""

    def __init__(self, *, dollar_keys: Iterable[str], help_text: str = "", **kwargs: Any) -> None:
        self.dollar_keys = frozenset(dollar_keys)
        listed = ", ".join(sorted(self.dollar_keys))
        kwargs["help_text"] = f"{help_text} (dollar figures, rounded to cents: {listed})".strip()
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> Any:
        return round_dollar_keys(super().to_representation(value), self.dollar_keys)


class DollarKeysList(serializers.ListField):
    """A list of free-form rows whose dollar figures (under ``dollar_keys``) are rounded."""

    def __init__(self, *, dollar_keys: Iterable[str], help_text: str = "", **kwargs: Any) -> None:
        self.dollar_keys = frozenset(dollar_keys)
        listed = ", ".join(sorted(self.dollar_keys))
        kwargs["help_text"] = f"{help_text} (dollar figures, rounded to cents: {listed})".strip()
        kwargs.setdefault("child", serializers.DictField())
        super().__init__(**kwargs)

    def to_representation(self, data: Any) -> Any:
        return round_dollar_keys(super().to_representation(data), self.dollar_keys)


# ==== Strict input fields (issue 11, "Input that cannot corrupt the book") ====================
# Body serializers use these instead of DRF's DecimalField/DateField: DRF accepts any
# string ``Decimal()`` accepts ("١٢٣" is 123, "1_000" is 1000) and ``DateField`` accepts
# "20260105". The bounds below are the API's stated limits (README, "Input limits").

#: An ASCII decimal: optional sign, digits, optional fraction. No exponent, no separators.
ASCII_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# The limits themselves live in sigmasight.limits, which the services check as well.


class StrictDecimalField(serializers.DecimalField):
    """A decimal given as a JSON number or an ASCII decimal string, within bounds.

    Rejects booleans, non-ASCII digits, underscores, exponents in strings, NaN and
    infinities; ``min_value``/``max_value`` (and ``nonzero``) bound the value."""

    default_error_messages = {
        "ascii": "A number must be written with ASCII digits, e.g. 1234.5",
        "nonzero": "Must not be zero",
    }

    def __init__(self, *, nonzero: bool = False, **kwargs: Any) -> None:
        self.nonzero = nonzero
        kwargs.setdefault("coerce_to_string", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, str):
            if not ASCII_DECIMAL.fullmatch(data.strip()):
                self.fail("ascii")
        elif isinstance(data, float):
            if not math.isfinite(data):
                self.fail("invalid")
        elif not isinstance(data, (int, Decimal)):
            self.fail("invalid")
        value: Decimal = super().to_internal_value(data)
        if self.nonzero and value == 0:
            self.fail("nonzero")
        return value


def PriceInput(*, minimum: Decimal = PRICE_MIN, **kwargs: Any) -> StrictDecimalField:
    """A per-unit price in a body: 0.0001 ≤ price ≤ 1,000,000, at most 6 places (an exit
    may pass ``minimum=0``: an option is closed at zero when it is worthless)."""
    kwargs.setdefault("help_text", f"Per share (per option share), {minimum}–{PRICE_MAX}")
    return StrictDecimalField(
        max_digits=20, decimal_places=6, min_value=minimum, max_value=PRICE_MAX, **kwargs
    )


def QuantityInput(*, signed: bool = True, **kwargs: Any) -> StrictDecimalField:
    """A quantity in a body: nonzero, |q| ≤ 10^13, at most 6 places; positive unless signed."""
    kwargs.setdefault("help_text", "Shares or contracts; signed: negative is short")
    return StrictDecimalField(
        max_digits=20,
        decimal_places=6,
        min_value=-QUANTITY_MAX if signed else Decimal("0.000001"),
        max_value=QUANTITY_MAX,
        nonzero=True,
        **kwargs,
    )


def CashInput(**kwargs: Any) -> StrictDecimalField:
    """A positive cash amount in dollars: 0.01 ≤ amount ≤ 10^15, at most 2 places."""
    kwargs.setdefault("help_text", "US dollars, positive")
    return StrictDecimalField(
        max_digits=20, decimal_places=2, min_value=Decimal("0.01"), max_value=CASH_MAX, **kwargs
    )


def FeesInput(**kwargs: Any) -> StrictDecimalField:
    kwargs.setdefault("help_text", f"US dollars, 0–{FEES_MAX}")
    return StrictDecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal(0), max_value=FEES_MAX, **kwargs
    )


class IsoDateField(serializers.DateField):
    """A date written ``YYYY-MM-DD`` (ASCII), between DATE_MIN and DATE_MAX."""

    default_error_messages = {
        "iso": "Dates are written YYYY-MM-DD",
        "range": f"The date must be between {DATE_MIN.isoformat()} and {DATE_MAX.isoformat()}",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", f"YYYY-MM-DD, {DATE_MIN.isoformat()}–{DATE_MAX.isoformat()}")
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> dt.date:
        if not isinstance(value, str) or not ISO_DATE.fullmatch(value.strip()):
            self.fail("iso")
        parsed: dt.date = super().to_internal_value(value.strip())
        if not DATE_MIN <= parsed <= DATE_MAX:
            self.fail("range")
        return parsed


class CurrencyField(serializers.CharField):
    """An ISO 4217 alphabetic currency code; lower case is accepted and upper-cased."""

    default_error_messages = {"currency": "Not an ISO 4217 currency code: {value}"}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "ISO 4217 code, e.g. USD")
        super().__init__(max_length=3, min_length=3, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        code = str(super().to_internal_value(data)).upper()
        if not is_currency(code):
            self.fail("currency", value=code[:3])
        return code


class RepresentableDecimalField(serializers.DecimalField):
    """An output decimal (Money, Price, Percent) that is null, not a 500, when a stored
    figure has more integer digits than the field shows; the report that computed it says
    why in ``warnings``."""

    def to_representation(self, value: Any) -> Any:
        try:
            return super().to_representation(value)
        except decimal.InvalidOperation:
            return None


# ==== end of strict input fields ==============================================================
