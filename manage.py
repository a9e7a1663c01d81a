#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sigmasight.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - imports the settings, which may refuse to start
    except ImproperlyConfigured as exc:
        # A refusal (no secret key, an unreadable key file...) is an operator's message:
        # one line and a non-zero exit, not a traceback through Django's internals.
        sys.exit(f"manage.py: {exc}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
