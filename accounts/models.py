"""Users keyed on email, with one role that grants viewer/trader/admin permissions.

Emails and usernames are one case-insensitive namespace of login identifiers (see
:class:`LoginIdentifier`): an identifier names at most one account.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer (read only)"
    TRADER = "trader", "Trader (may trade and change trading config)"
    ADMIN = "admin", "Admin (batch, system and the Django admin)"


#: The permissions each role grants, in the order the 0DTE spec lists them.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.VIEWER: ["viewer"],
    Role.TRADER: ["viewer", "trader"],
    Role.ADMIN: ["viewer", "trader", "admin"],
}


def normalize_identifier(value: str) -> str:
    """The form in which emails and usernames are compared: stripped and lowercased."""
    return value.strip().lower()


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", Role.ADMIN)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    username = models.CharField(max_length=150, unique=True, null=True, blank=True)
    full_name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.TRADER)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May log into the Django admin.")
    created_at = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def login_identifiers_wanted(self) -> set[str]:
        """The normalized names this user logs in with (one, if the username is the email)."""
        names = {normalize_identifier(self.email)}
        if self.username:
            names.add(normalize_identifier(self.username))
        return names

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = self.email.lower()
        self.username = self.username or None  # "" is no username, not a claim on ""
        if self.role == Role.ADMIN:
            self.is_staff = True  # the admin permission includes the Django admin
        update_fields = kwargs.get("update_fields")
        # The user row and its identifiers commit together or not at all: a name already
        # claimed by another account raises IntegrityError and leaves nothing behind.
        with transaction.atomic(using=kwargs.get("using")):
            super().save(*args, **kwargs)
            if update_fields is None or {"email", "username"} & set(update_fields):
                self._claim_login_identifiers()

    def _claim_login_identifiers(self) -> None:
        wanted = self.login_identifiers_wanted
        LoginIdentifier.objects.filter(user=self).exclude(value__in=wanted).delete()
        held = set(LoginIdentifier.objects.filter(user=self).values_list("value", flat=True))
        LoginIdentifier.objects.bulk_create(
            [LoginIdentifier(value=value, user=self) for value in sorted(wanted - held)]
        )

    @property
    def permissions(self) -> list[str]:
        """Granted permissions; a superuser has all three."""
        if self.is_superuser:
            return list(ROLE_PERMISSIONS[Role.ADMIN])
        return list(ROLE_PERMISSIONS[Role(self.role)])

    def has_role(self, permission: str) -> bool:
        return permission in self.permissions

    def has_perm(self, perm: str, obj: object = None) -> bool:
        """The admin role manages everything in the Django admin, like a superuser."""
        if self.is_active and self.role == Role.ADMIN:
            return True
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label: str) -> bool:
        if self.is_active and self.role == Role.ADMIN:
            return True
        return super().has_module_perms(app_label)


class LoginIdentifier(models.Model):
    """A name someone logs in with, normalized: a user's email, and their username if any.

    Emails and usernames share this one namespace, and the unique index on ``value`` is
    what guarantees that no username equals another account's email or username (the
    takeover where a squatter registers the victim's email as a username). Why a table
    rather than a check before the insert or a PostgreSQL advisory lock: a
    check-then-insert races (two registrations, of email X and of username X, both see
    X free and both commit), and a lock only protects the code paths that remember to
    take it and does not exist on SQLite. A unique index cannot race on either database
    (the second insert waits for the first to commit, then fails), and it guards every
    write path: the API, the Django admin, ``createsuperuser``, ``seed_demo``.
    :meth:`User.save` keeps the rows in step, in the same transaction as the user row.
    """

    value = models.CharField(max_length=254, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="login_identifiers")

    class Meta:
        ordering = ["value"]

    def __str__(self) -> str:
        return self.value


class AuthSession(models.Model):
    """One login: the refresh-token chain and every access token issued from it.

    Access tokens carry the session id (``sid``), so logging out revokes them all,
    and a bearer refresh can never outlive the refresh token.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="auth_sessions")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(help_text="Expiry of the session's current refresh token.")
    refresh_jti = models.CharField(max_length=255, help_text="The current refresh token's jti.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.user} @ {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
