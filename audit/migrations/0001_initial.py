"""The trust core's models, until now in the governance app, become the audit app's: state only.

The tables stay where they are, with their names, rows, indexes and append-only triggers (``db_table`` keeps
the old names); only Django's record of which app a model belongs to moves. ``governance.0013`` removes them from
the governance app's state once every foreign key points here.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        # The tables were created, and made append-only, by the governance app's migrations.
        ("governance", "0012_restore_append_only_historicalpipelinetoken"),
    ]

    state_operations = [
        migrations.CreateModel(
            name="LedgerCheckpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("tree_size", models.BigIntegerField(unique=True, verbose_name="tree size")),
                ("root_hash", models.BinaryField(max_length=32, verbose_name="root hash")),
                ("created_at", models.DateTimeField(verbose_name="created at (UTC)")),
                ("key_id", models.CharField(max_length=64, verbose_name="signing key id")),
                ("signature", models.BinaryField(max_length=64, verbose_name="Ed25519 signature")),
                ("statement", models.BinaryField(verbose_name="signed statement")),
                ("file_name", models.CharField(max_length=200, verbose_name="checkpoint file")),
            ],
            options={
                "verbose_name": "ledger checkpoint",
                "db_table": "governance_ledgercheckpoint",
                "ordering": ["-tree_size"],
                "default_permissions": ("view",),
            },
        ),
        migrations.CreateModel(
            name="LedgerVerification",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("started_at", models.DateTimeField(verbose_name="started at (UTC)")),
                ("finished_at", models.DateTimeField(verbose_name="finished at (UTC)")),
                ("ok", models.BooleanField(verbose_name="chain holds")),
                ("entries_checked", models.BigIntegerField(verbose_name="entries checked")),
                ("checkpoints_checked", models.IntegerField(verbose_name="checkpoints checked")),
                (
                    "first_broken_sequence",
                    models.BigIntegerField(blank=True, null=True, verbose_name="first broken sequence"),
                ),
                ("message", models.TextField(blank=True, verbose_name="finding")),
            ],
            options={
                "verbose_name": "ledger verification",
                "db_table": "governance_ledgerverification",
                "ordering": ["-started_at"],
                "default_permissions": ("view",),
            },
        ),
        migrations.CreateModel(
            name="LedgerEntry",
            fields=[
                ("sequence", models.BigIntegerField(primary_key=True, serialize=False, verbose_name="sequence")),
                ("recorded_at", models.DateTimeField(verbose_name="recorded at (UTC)")),
                ("actor_name", models.CharField(max_length=200, verbose_name="actor name")),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("create", "Create"),
                            ("update", "Update"),
                            ("delete", "Delete"),
                            ("transition", "Transition"),
                            ("sign", "Sign"),
                            ("override", "Break-glass override"),
                            ("export", "Export"),
                            ("download", "Download"),
                            ("view", "View"),
                            ("denied", "Denied"),
                            ("checkpoint", "Checkpoint"),
                            ("login_failed", "Failed sign-in"),
                            ("lockout", "Account locked out"),
                            ("unlock", "Lockout lifted"),
                            ("mfa_enrolment", "Second factor enrolled or removed"),
                            ("upload", "Document uploaded"),
                        ],
                        max_length=20,
                        verbose_name="action",
                    ),
                ),
                ("object_type", models.CharField(blank=True, max_length=100, verbose_name="object type")),
                ("object_id", models.CharField(blank=True, max_length=64, verbose_name="object id")),
                ("object_label", models.CharField(blank=True, max_length=300, verbose_name="object")),
                ("request_id", models.CharField(blank=True, max_length=64, verbose_name="request id")),
                ("canonical", models.BinaryField(verbose_name="canonical bytes")),
                ("prev_hash", models.BinaryField(max_length=32, unique=True, verbose_name="previous hash")),
                ("entry_hash", models.BinaryField(max_length=32, unique=True, verbose_name="entry hash")),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="actor",
                    ),
                ),
            ],
            options={
                "verbose_name": "ledger entry",
                "verbose_name_plural": "audit ledger",
                "db_table": "governance_ledgerentry",
                "ordering": ["-sequence"],
                "default_permissions": ("view",),
            },
        ),
        migrations.CreateModel(
            name="Signature",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("printed_name", models.CharField(max_length=200, verbose_name="printed name")),
                ("signed_at", models.DateTimeField(verbose_name="signed at (UTC)")),
                ("meaning", models.CharField(max_length=200, verbose_name="meaning")),
                ("object_id", models.CharField(max_length=64, verbose_name="record id")),
                ("object_label", models.CharField(max_length=300, verbose_name="record")),
                ("record_digest", models.CharField(max_length=64, verbose_name="record digest (SHA-256)")),
                (
                    "content_type",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="contenttypes.contenttype"
                    ),
                ),
                (
                    "ledger_entry",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="audit.ledgerentry",
                        verbose_name="ledger entry",
                    ),
                ),
                (
                    "signer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="signer",
                    ),
                ),
            ],
            options={
                "verbose_name": "electronic signature",
                "db_table": "governance_signature",
                "ordering": ["-signed_at", "-id"],
                "default_permissions": ("view",),
            },
        ),
        migrations.CreateModel(
            name="AccessEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "occurred_at",
                    models.DateTimeField(auto_now_add=True, db_index=True, verbose_name="occurred at (UTC)"),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("view_audit_trail", "Viewed audit trail"),
                            ("export", "Exported"),
                            ("download", "Downloaded"),
                        ],
                        max_length=20,
                        verbose_name="kind",
                    ),
                ),
                ("object_type", models.CharField(blank=True, max_length=100, verbose_name="object type")),
                ("object_id", models.CharField(blank=True, max_length=64, verbose_name="object id")),
                ("object_label", models.CharField(blank=True, max_length=300, verbose_name="object")),
                ("detail", models.JSONField(blank=True, default=dict, verbose_name="detail")),
                ("request_id", models.CharField(blank=True, max_length=64, verbose_name="request id")),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
            ],
            options={
                "verbose_name": "access event",
                "db_table": "governance_accessevent",
                "ordering": ["-occurred_at", "-id"],
                "default_permissions": ("view",),
                "indexes": [models.Index(fields=["object_type", "object_id"], name="access_object_idx")],
            },
        ),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(fields=["object_type", "object_id", "sequence"], name="ledger_object_idx"),
        ),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(fields=["actor", "sequence"], name="ledger_actor_idx"),
        ),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(fields=["action", "sequence"], name="ledger_action_idx"),
        ),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(fields=["recorded_at"], name="ledger_time_idx"),
        ),
        migrations.AddConstraint(
            model_name="ledgerentry",
            constraint=models.CheckConstraint(
                condition=models.Q(("sequence__gte", 1)), name="ledger_sequence_positive"
            ),
        ),
        migrations.AddIndex(
            model_name="signature",
            index=models.Index(fields=["content_type", "object_id"], name="signature_record_idx"),
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
