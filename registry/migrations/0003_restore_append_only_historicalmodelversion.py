"""0002 added a column to the model versions' history table, which on SQLite rebuilt it without its append-only
triggers."""

from django.db import migrations

import audit.operations


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0002_mlflow_reference"),
    ]

    operations = [
        audit.operations.RestoreAppendOnly("historicalmodelversion"),
    ]
