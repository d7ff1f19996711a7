"""0010 altered the pipeline tokens' history table, which on SQLite rebuilt it without its append-only triggers."""

from django.db import migrations

import audit.operations


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0011_documents"),
    ]

    operations = [
        audit.operations.RestoreAppendOnly("historicalpipelinetoken"),
    ]
