"""A password validator for the one password everybody knows: the demo's."""

from __future__ import annotations

from django.core.exceptions import ValidationError

#: The password of the seeded demo users (API-CONVENTIONS "Demo users"). It is printed in
#: the README and the spec, so no real account may choose it.
DEMO_PASSWORD = "demo12345"
_PUBLIC_PASSWORDS = frozenset({DEMO_PASSWORD})


class PublicDemoPasswordValidator:
    """Refuses the published demo password (Django's common-password list lacks it).

    ``seed_demo`` sets it with ``set_password``, which runs no validators, so the demo
    users keep it; registration, ``createsuperuser`` and the admin's forms refuse it.
    """

    def validate(self, password: str, user: object = None) -> None:
        if password.strip().lower() in _PUBLIC_PASSWORDS:
            raise ValidationError(
                "This password is the published demo password.", code="password_is_public"
            )

    def get_help_text(self) -> str:
        return "Your password can't be the published demo password."
