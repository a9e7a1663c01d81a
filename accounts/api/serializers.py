"""Input and output shapes of the auth endpoints (both specs' keys)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class LoginInputSerializer(serializers.Serializer):
    """SigmaSight sends ``email``, Smart-0DTE sends ``username`` (which may be an email)."""

    email = serializers.CharField(required=False, max_length=254)
    username = serializers.CharField(required=False, max_length=254)
    password = serializers.CharField(max_length=512, trim_whitespace=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        identifier = attrs.get("email") or attrs.get("username")
        if not identifier:
            raise serializers.ValidationError({"email": ["email or username is required"]})
        attrs["identifier"] = identifier
        return attrs


class TokenOutputSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField(allow_null=True, help_text="Null on a bearer refresh.")
    token_type = serializers.CharField(default="bearer")
    expires_in = serializers.IntegerField(help_text="Seconds until the access token expires.")
    user_id = serializers.UUIDField()
    permissions = serializers.ListField(child=serializers.CharField())


class RefreshInputSerializer(serializers.Serializer):
    refresh_token = serializers.CharField(required=False, max_length=4096)


class RegisterInputSerializer(serializers.Serializer):
    """The password's length and strength are Django's validators' call (in the service),
    so that their messages are the ones a client sees."""

    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=512, trim_whitespace=False)
    full_name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    username = serializers.RegexField(
        r"^[A-Za-z0-9_.@+-]{3,150}$", required=False, allow_null=True, default=None
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # An email-shaped username would claim that email before its owner registers
        # (and lock them out of it), so only one's own email may be one's username.
        username = attrs.get("username")
        if username and "@" in username and username.lower() != attrs["email"].lower():
            raise serializers.ValidationError(
                {"username": ["A username may contain @ only if it is your own email address"]}
            )
        return attrs


class UserOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    username = serializers.CharField(allow_null=True)
    full_name = serializers.CharField()
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    portfolio_id = serializers.UUIDField(allow_null=True, help_text="The default portfolio.")
    permissions = serializers.ListField(child=serializers.CharField())


class LogoutOutputSerializer(serializers.Serializer):
    detail = serializers.CharField()
