import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    """After 0003 has cleared usernames that collide case-insensitively."""

    dependencies = [
        ("accounts", "0003_claim_login_identifiers"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("username"),
                name="user_username_ci_unique",
            ),
        ),
    ]
