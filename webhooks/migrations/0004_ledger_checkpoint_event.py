"""The ``ledger.checkpoint`` event: each signed ledger checkpoint is sent to its subscribers as it is made."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0003_encrypted_url"),
    ]

    operations = [
        migrations.AlterField(
            model_name="webhookdelivery",
            name="event",
            field=models.CharField(
                choices=[
                    ("dataset_version.approved", "Dataset version approved for training"),
                    ("dataset_version.rejected", "Dataset version rejected"),
                    ("dataset_version.revoked", "Dataset version revoked"),
                    ("gate.failed", "Validation gate failed"),
                    ("promotion.approved", "Promotion (change ticket) approved"),
                    ("deployment.deployed", "Model version deployed"),
                    ("deployment.rolled_back", "Deployment rolled back"),
                    ("incident.opened", "Incident opened"),
                    ("ledger.checkpoint", "Audit ledger checkpoint signed"),
                ],
                max_length=40,
                verbose_name="event",
            ),
        ),
    ]
