"""The session index, until now in the governance app, becomes the accounts app's: state only.

The table keeps its name and rows (``db_table``); ``governance.0014`` removes the model from the governance app's
state, and ``0002`` moves its content type.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        # The table was created by the governance app's migrations.
        ("governance", "0013_trust_core_moves_to_audit"),
    ]

    state_operations = [
        migrations.CreateModel(
            name="UserSession",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("session_key", models.CharField(max_length=40, unique=True, verbose_name="session key")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at (UTC)")),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
            ],
            options={
                "verbose_name": "user session",
                "db_table": "governance_usersession",
                "default_permissions": (),
                "indexes": [models.Index(fields=["user"], name="user_session_user_idx")],
            },
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
