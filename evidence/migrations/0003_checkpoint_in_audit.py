"""The ledger checkpoint a pack cites is now the audit app's model; the column and its table are unchanged."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("evidence", "0002_role_permissions"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="evidencepack",
                    name="checkpoint",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="audit.ledgercheckpoint",
                        verbose_name="ledger checkpoint",
                    ),
                ),
            ]
        )
    ]
