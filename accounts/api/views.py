"""Auth endpoints, as API-CONVENTIONS.md defines them."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.api.serializers import (
    LoginInputSerializer,
    LogoutOutputSerializer,
    RefreshInputSerializer,
    RegisterInputSerializer,
    TokenOutputSerializer,
    UserOutputSerializer,
)
from accounts.authentication import bearer_token
from accounts.selectors import user_profile
from accounts.tokens import IssuedTokens
from sigmasight.api.permissions import IsAdmin
from sigmasight.api.throttling import AuthRateThrottle, client_ip, throttles


def _token_response(issued: IssuedTokens, status_code: int = 200) -> Response:
    body = TokenOutputSerializer(
        {
            "access_token": issued.access_token,
            "refresh_token": issued.refresh_token,
            "token_type": "bearer",
            "expires_in": issued.expires_in,
            "user_id": issued.user.id,
            "permissions": issued.user.permissions,
        }
    ).data
    response = Response(body, status=status_code)
    response.set_cookie(
        settings.AUTH_COOKIE_NAME,
        issued.access_token,
        max_age=issued.expires_in,
        httponly=True,
        samesite="Lax",
        secure=settings.AUTH_COOKIE_SECURE,
        path="/",
    )
    return response


def _raw_access_token(request: Request) -> str | None:
    """The access token from the Bearer header, else the cookie."""
    if token := bearer_token(request.headers.get("Authorization")):
        return token
    return request.COOKIES.get(settings.AUTH_COOKIE_NAME) or None


class LoginView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = throttles(AuthRateThrottle)

    @extend_schema(
        tags=["auth"],
        summary="Log in with email or username; the access token is also set as a cookie",
        request=LoginInputSerializer,
        responses={200: TokenOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = services.user_login(
            identifier=data.validated_data["identifier"],
            password=data.validated_data["password"],
            user_agent=request.headers.get("User-Agent", ""),
            ip=client_ip(request._request) if client_ip(request._request) != "unknown" else None,
        )
        return _token_response(issued)


class RefreshView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = throttles(AuthRateThrottle)

    @extend_schema(
        tags=["auth"],
        summary="Refresh: rotate a refresh token (body), or renew a valid access token",
        description=(
            "With `refresh_token` in the body the refresh token rotates and the used one is "
            "blacklisted. With no body, a still-valid access token in the Bearer header or the "
            "cookie gets a new access token (no new refresh token), until the login session ends."
        ),
        request=RefreshInputSerializer,
        responses={200: TokenOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = RefreshInputSerializer(data=request.data or {})
        data.is_valid(raise_exception=True)
        if refresh_token := data.validated_data.get("refresh_token"):
            return _token_response(services.refresh_with_refresh_token(refresh_token=refresh_token))
        access = _raw_access_token(request)
        if not access:
            raise exceptions.NotAuthenticated()
        return _token_response(services.refresh_with_access_token(access_token=access))


class LogoutView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = throttles(AuthRateThrottle)

    @extend_schema(
        tags=["auth"],
        summary="Log out: blacklist the session's refresh token and revoke its access tokens",
        request=None,
        responses={200: LogoutOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        access = _raw_access_token(request)
        if not access:
            raise exceptions.NotAuthenticated()
        services.session_logout(access_token=access)
        response = Response({"detail": "Logged out"})
        response.delete_cookie(settings.AUTH_COOKIE_NAME, path="/", samesite="Lax")
        return response


class RegisterView(APIView):
    throttle_classes = throttles(AuthRateThrottle)

    def get_permissions(self) -> list:
        if settings.REGISTRATION_OPEN:
            return [AllowAny()]
        return [IsAdmin()]

    @extend_schema(
        tags=["auth"],
        summary="Register a trader with a default portfolio (admin-only when registration is closed)",
        request=RegisterInputSerializer,
        description=(
            "Emails and usernames share one case-insensitive namespace: an email or username "
            "that already names an account is 409 (`error.details.field` says which). A "
            "username may contain `@` only if it is the registrant's own email. The password "
            "must pass the server's validators (length, common, numeric, not the demo's)."
        ),
        responses={
            201: UserOutputSerializer,
            409: OpenApiResponse(description="Email or username already taken"),
            422: OpenApiResponse(description="Invalid email, username or password"),
        },
    )
    def post(self, request: Request) -> Response:
        data = RegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data)
        return Response(
            UserOutputSerializer(user_profile(user=user)).data, status=status.HTTP_201_CREATED
        )


class MeView(APIView):
    @extend_schema(tags=["auth"], summary="The current user", responses={200: UserOutputSerializer})
    def get(self, request: Request) -> Response:
        return Response(UserOutputSerializer(user_profile(user=request.user)).data)
