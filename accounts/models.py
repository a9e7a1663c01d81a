"""Users keyed on email, with one role that grants viewer/trader/admin permissions."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
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
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    def save(self, *args: object, **kwargs: object) -> None:
        self.email = self.email.lower()
        if self.role == Role.ADMIN:
            self.is_staff = True  # the admin permission includes the Django admin
        super().save(*args, **kwargs)  # type: ignore[arg-type]

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
