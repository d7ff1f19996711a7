"""On PostgreSQL the record table becomes a table partitioned by use case and month (``inference.partitions``);
SQLite keeps its plain table. Existing records are copied into their partitions.

The old table's indexes, check and foreign-key constraints are replayed on the partitioned one under the same names
(so later migrations find them); the primary key and the unique constraints gain ``use_case_id`` and ``started_at``,
which PostgreSQL requires of a partitioned table. The id comes from a sequence of its own: PostgreSQL 15 has no
identity columns on partitioned tables."""

import re

import django.db.models.deletion
from django.db import migrations, models

from inference.partitions import TABLE, create_partition_sql

PARTITION_KEY = "use_case_id, started_at"


def partition_records(apps, schema_editor) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    old = f"{TABLE}_unpartitioned"
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = %s::regclass", [TABLE])
        if cursor.fetchone()[0] == "p":
            return
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass ORDER BY contype, conname",
            [TABLE],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass) ORDER BY 1",
            [TABLE, TABLE],
        )
        indexes = cursor.fetchall()
        cursor.execute(f'ALTER TABLE "{TABLE}" RENAME TO "{old}"')
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        for name, kind, _definition in constraints:
            if kind in ("p", "u"):  # their indexes' names are the schema's, not the table's
                cursor.execute(f'ALTER TABLE "{old}" DROP CONSTRAINT "{name}"')
        cursor.execute(f'CREATE TABLE "{TABLE}" (LIKE "{old}" INCLUDING DEFAULTS) PARTITION BY RANGE ({PARTITION_KEY})')
        cursor.execute(
            f"SELECT DISTINCT use_case_id, date_trunc('month', started_at AT TIME ZONE 'UTC')::date FROM \"{old}\""  # noqa: S608
        )
        for use_case_id, month in cursor.fetchall():
            cursor.execute(create_partition_sql(use_case_id, month))
        cursor.execute(f'INSERT INTO "{TABLE}" SELECT * FROM "{old}"')  # noqa: S608 - the table's own names
        cursor.execute(f'DROP TABLE "{old}"')
        cursor.execute(f'CREATE SEQUENCE "{TABLE}_id_seq" OWNED BY "{TABLE}".id')
        cursor.execute(f'SELECT setval(\'"{TABLE}_id_seq"\', COALESCE(MAX(id), 0) + 1, false) FROM "{TABLE}"')  # noqa: S608
        cursor.execute(f'ALTER TABLE "{TABLE}" ALTER COLUMN id SET DEFAULT nextval(\'"{TABLE}_id_seq"\')')
        for name, kind, definition in constraints:
            if kind in ("p", "u"):
                definition = re.sub(r"\)$", f", {PARTITION_KEY})", definition)
            cursor.execute(f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "{name}" {definition}')
        for _name, definition in indexes:
            cursor.execute(definition)


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0016_control_oscal_id"),
        ("inference", "0001_inference_records"),
    ]

    operations = [
        # The position constraint's index and the period index already start with these columns.
        migrations.AlterField(
            model_name="inferencerecord",
            name="batch",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="records",
                to="inference.inferencebatch",
                verbose_name="batch",
            ),
        ),
        migrations.AlterField(
            model_name="inferencerecord",
            name="use_case",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="governance.usecase",
                verbose_name="use case",
            ),
        ),
        # Irreversible in place: going back leaves the partitioned table, which serves the earlier schema too.
        migrations.RunPython(partition_records, migrations.RunPython.noop, elidable=False),
    ]
