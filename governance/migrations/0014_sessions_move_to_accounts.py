"""The session index leaves the governance app's state for the accounts app's (``accounts.0001``): state only."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0013_trust_core_moves_to_audit"),
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="UserSession")]),
    ]
