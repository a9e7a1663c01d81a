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
