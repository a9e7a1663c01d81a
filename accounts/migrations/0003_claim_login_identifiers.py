"""Fill the identifier namespace from existing users, resolving collisions first.

Existing data may hold what the namespace now forbids: a username equal to another
account's email (the takeover this closes), or two usernames that differ only in case.
Emails win (every account logs in by email, and emails are unique already); among
usernames, the oldest account keeps the name. A losing username is cleared, not
renamed: its account still logs in by email. Each clearing is logged.
"""

import logging

from django.db import migrations

logger = logging.getLogger("accounts.migrations")


def _normalize(value):
    return value.strip().lower()


def claim_login_identifiers(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    LoginIdentifier = apps.get_model("accounts", "LoginIdentifier")
    db = schema_editor.connection.alias
    users = list(User.objects.using(db).order_by("created_at", "pk"))
    claimed = {}  # normalized identifier -> the pk of the account it names
    for user in users:
        claimed.setdefault(_normalize(user.email), user.pk)
    for user in users:
        if not user.username:
            if user.username == "":
                User.objects.using(db).filter(pk=user.pk).update(username=None)
            continue
        value = _normalize(user.username)
        owner = claimed.setdefault(value, user.pk)
        if owner != user.pk:
            logger.warning(
                "Cleared the username %r of user %s: it already names account %s",
                user.username,
                user.pk,
                owner,
            )
            User.objects.using(db).filter(pk=user.pk).update(username=None)
    LoginIdentifier.objects.using(db).bulk_create(
        [LoginIdentifier(value=value, user_id=pk) for value, pk in claimed.items()],
        batch_size=1000,
    )


def forget_login_identifiers(apps, schema_editor):
    apps.get_model("accounts", "LoginIdentifier").objects.using(
        schema_editor.connection.alias
    ).all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_loginidentifier"),
    ]

    operations = [
        migrations.RunPython(claim_login_identifiers, forget_login_identifiers),
    ]
