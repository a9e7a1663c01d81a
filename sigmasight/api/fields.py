"""Serializer fields that carry a unit: money in dollars (cents), prices (4 places),
percent and signed quantities. One definition, so every endpoint documents units alike."""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from rest_framework import serializers

CENT = Decimal("0.01")


def Money(**kwargs: object) -> serializers.DecimalField:
    """Dollars, rounded to cents, sent as a JSON number."""
    kwargs.setdefault("help_text", "US dollars")
    return serializers.DecimalField(
        max_digits=22, decimal_places=2, coerce_to_string=False, rounding=ROUND_HALF_UP, **kwargs
    )


def Price(**kwargs: object) -> serializers.DecimalField:
    kwargs.setdefault("help_text", "Price per share (per option share for options), 4 places")
    return serializers.DecimalField(
        max_digits=22, decimal_places=4, coerce_to_string=False, **kwargs
    )


def Percent(**kwargs: object) -> serializers.DecimalField:
    kwargs.setdefault("help_text", "Percent: 9.53 means 9.53%")
    return serializers.DecimalField(
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
