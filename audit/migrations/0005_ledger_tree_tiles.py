"""The ledger's Merkle tree kept in stored tiles (``audit.tree``), append-only like the ledger. An existing ledger's
tiles are built by its next checkpoint run; verification runs record whether they covered only what followed the last
verified checkpoint."""

from django.db import migrations, models

import audit.operations


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_verification_checkpoint_window"),
    ]

    operations = [
        migrations.AddField(
            model_name="ledgerverification",
            name="base_tree_size",
            field=models.BigIntegerField(blank=True, null=True, verbose_name="verified from checkpoint (entries)"),
        ),
        migrations.AddField(
            model_name="ledgerverification",
            name="since_last",
            field=models.BooleanField(default=False, verbose_name="since the last verified checkpoint"),
        ),
        migrations.AddField(
            model_name="ledgerverification",
            name="tiles_checked",
            field=models.BigIntegerField(default=0, verbose_name="stored tree tiles checked"),
        ),
        migrations.AddField(
            model_name="ledgerverification",
            name="verified_tree_size",
            field=models.BigIntegerField(blank=True, null=True, verbose_name="verified up to checkpoint (entries)"),
        ),
        migrations.CreateModel(
            name="LedgerTreeTile",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("level", models.PositiveSmallIntegerField(verbose_name="level")),
                ("index", models.BigIntegerField(verbose_name="index")),
                ("hashes", models.BinaryField(max_length=8192, verbose_name="node hashes")),
                ("root", models.BinaryField(max_length=32, verbose_name="tile root")),
            ],
            options={
                "verbose_name": "ledger tree tile",
                "ordering": ["level", "index"],
                "default_permissions": ("view",),
                "constraints": [
                    models.UniqueConstraint(fields=("level", "index"), name="ledger_tile_position_unique"),
                    models.CheckConstraint(condition=models.Q(("index__gte", 0)), name="ledger_tile_index_nonnegative"),
                ],
            },
        ),
        audit.operations.MakeAppendOnly("ledgertreetile"),
    ]
