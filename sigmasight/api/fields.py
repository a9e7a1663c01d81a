"""Serializer fields that carry a unit: money in dollars (cents), prices (4 places),
percent and signed quantities. One definition, so every endpoint documents units alike."""

from __future__ import annotations

from rest_framework import serializers


def Money(**kwargs: object) -> serializers.DecimalField:
    """Dollars, rounded to cents, sent as a JSON number."""
    kwargs.setdefault("help_text", "US dollars")
    return serializers.DecimalField(
        max_digits=22, decimal_places=2, coerce_to_string=False, **kwargs
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
