"""The keys the portal has signed evidence with, published and kept for good (append-only)."""

from django.db import migrations, models

import audit.operations


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0005_ledger_tree_tiles"),
    ]

    operations = [
        migrations.CreateModel(
            name="VerificationKey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("ledger_checkpoint", "Ledger checkpoint key (Ed25519)"),
                            ("document_signing", "Evidence pack signing certificate (X.509)"),
                        ],
                        max_length=24,
                        verbose_name="kind",
                    ),
                ),
                (
                    "sha256_fingerprint",
                    models.CharField(max_length=64, unique=True, verbose_name="SHA-256 fingerprint"),
                ),
                ("key_id", models.CharField(blank=True, max_length=64, verbose_name="key id")),
                ("algorithm", models.CharField(max_length=40, verbose_name="algorithm")),
                ("subject", models.CharField(blank=True, max_length=300, verbose_name="subject")),
                ("material", models.TextField(verbose_name="public key or certificate (PEM)")),
                ("valid_from", models.DateTimeField(blank=True, null=True, verbose_name="valid from (UTC)")),
                ("valid_until", models.DateTimeField(blank=True, null=True, verbose_name="valid until (UTC)")),
                ("first_used_at", models.DateTimeField(verbose_name="first used (UTC)")),
            ],
            options={
                "verbose_name": "verification key",
                "ordering": ["kind", "first_used_at"],
                "default_permissions": ("view",),
            },
        ),
        audit.operations.MakeAppendOnly("verificationkey"),
    ]
