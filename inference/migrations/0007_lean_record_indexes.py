"""Inference records with fewer, smaller indexes and no foreign-key constraints (``InferenceRecord`` says why): at
production volume each index entry and each check at commit is paid by every one of millions of rows.

- The foreign keys (batch, use case, live and named version) keep their meaning in Django (``PROTECT``) but lose
  their constraints, and the two version columns their indexes.
- The unique (batch, position) constraint becomes a plain index on the batch, which PostgreSQL deduplicates.

PostgreSQL changes the partitioned table and every partition at once; SQLite remakes its plain table. Undone on
PostgreSQL, the unique constraint comes back with the partition key, as migration 0002 made it."""

import django.db.models.deletion
from django.db import migrations, models

POSITION_UNIQUE = models.UniqueConstraint(fields=["batch", "position"], name="inference_record_position_unique")


def drop_position_constraint(apps, schema_editor) -> None:
    schema_editor.remove_constraint(apps.get_model("inference", "InferenceRecord"), POSITION_UNIQUE)


def restore_position_constraint(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":  # a partitioned table's unique keys carry its partition key
        schema_editor.execute(
            'ALTER TABLE "inference_inferencerecord" ADD CONSTRAINT "inference_record_position_unique" '
            'UNIQUE (batch_id, "position", use_case_id, started_at)'
        )
    else:
        schema_editor.add_constraint(apps.get_model("inference", "InferenceRecord"), POSITION_UNIQUE)


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0016_control_oscal_id"),
        ("inference", "0006_digests_as_bytes"),
        ("registry", "0007_provenance_requirements"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(model_name="inferencerecord", name="inference_record_position_unique")
            ],
            database_operations=[migrations.RunPython(drop_position_constraint, restore_position_constraint)],
        ),
        migrations.AlterField(
            model_name="inferencerecord",
            name="batch",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="records",
                to="inference.inferencebatch",
                verbose_name="batch",
            ),
        ),
        migrations.AlterField(
            model_name="inferencerecord",
            name="model_version",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="registry.modelversion",
                verbose_name="model version live",
            ),
        ),
        migrations.AlterField(
            model_name="inferencerecord",
            name="named_version",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="registry.modelversion",
                verbose_name="model version the span named",
            ),
        ),
        migrations.AlterField(
            model_name="inferencerecord",
            name="use_case",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="governance.usecase",
                verbose_name="use case",
            ),
        ),
        migrations.AddIndex(
            model_name="inferencerecord",
            index=models.Index(fields=["batch"], name="inference_batch_idx"),
        ),
    ]
