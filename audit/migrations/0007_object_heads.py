"""The object heads map a checkpoint signs, stored as of the newest checkpoint (derived, updated in place)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0006_verification_keys"),
    ]

    operations = [
        migrations.CreateModel(
            name="LedgerHeadsTile",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("index", models.PositiveIntegerField(unique=True, verbose_name="index")),
                ("hashes", models.BinaryField(max_length=512, verbose_name="leaf hashes")),
                ("root", models.BinaryField(max_length=32, verbose_name="tile root")),
            ],
            options={
                "verbose_name": "ledger object heads tile",
                "ordering": ["index"],
                "default_permissions": ("view",),
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("index__lt", 4096)), name="ledger_heads_tile_range")
                ],
            },
        ),
        migrations.CreateModel(
            name="LedgerObjectHead",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("object_type", models.CharField(max_length=100, verbose_name="object type")),
                ("object_id", models.CharField(max_length=64, verbose_name="object id")),
                ("bucket", models.PositiveIntegerField(verbose_name="bucket")),
                ("count", models.BigIntegerField(verbose_name="entries")),
                ("head_sequence", models.BigIntegerField(verbose_name="newest entry")),
            ],
            options={
                "verbose_name": "ledger object head",
                "ordering": ["bucket", "object_type", "object_id"],
                "default_permissions": ("view",),
                "indexes": [models.Index(fields=["bucket"], name="ledger_head_bucket_idx")],
                "constraints": [
                    models.UniqueConstraint(fields=("object_type", "object_id"), name="ledger_head_object_unique"),
                    models.CheckConstraint(condition=models.Q(("bucket__lt", 65536)), name="ledger_head_bucket_range"),
                ],
            },
        ),
    ]
