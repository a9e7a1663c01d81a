"""Ops staff manage users, roles and login sessions here."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm

from accounts.models import AuthSession, User
from accounts.selectors import identifier_is_taken


def _refuse_taken(value: str | None, instance: User) -> str | None:
    """Emails and usernames are one namespace: a form error here, not an IntegrityError."""
    if value and identifier_is_taken(identifier=value, exclude_user=instance):
        raise forms.ValidationError("This already names another account (as email or username).")
    return value


class UserCreateForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name", "role")

    def clean_email(self) -> str | None:
        return _refuse_taken(self.cleaned_data.get("email"), self.instance)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self) -> str | None:
        return _refuse_taken(self.cleaned_data.get("email"), self.instance)

    def clean_username(self) -> str | None:
        return _refuse_taken(self.cleaned_data.get("username") or None, self.instance)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserEditForm
    add_form = UserCreateForm
    ordering = ("email",)
    list_display = (
        "email",
        "full_name",
        "role",
        "is_active",
        "is_staff",
        "is_superuser",
        "created_at",
    )
    list_filter = ("role", "is_active", "is_staff", "is_superuser")
    search_fields = ("email", "username", "full_name")
    readonly_fields = ("created_at", "last_login")
    fieldsets = (
        (None, {"fields": ("email", "username", "password")}),
        ("Profile", {"fields": ("full_name",)}),
        (
            "Permissions",
            {
                "fields": (
                    "role",
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                )
            },
        ),
        ("Dates", {"fields": ("last_login", "created_at")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "role", "password1", "password2"),
            },
        ),
    )


@admin.register(AuthSession)
class AuthSessionAdmin(admin.ModelAdmin):
    list_display = ("user", "created_at", "expires_at", "revoked_at", "ip_address")
    list_filter = ("revoked_at",)
    search_fields = ("user__email",)
    readonly_fields = (
        "id",
        "user",
        "created_at",
        "expires_at",
        "refresh_jti",
        "user_agent",
        "ip_address",
    )
    list_select_related = ("user",)
