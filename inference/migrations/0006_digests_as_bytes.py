"""Trace and span ids, HMACs and pseudonyms of inference records stored as their bytes instead of hex text
(``inference.fields.HexBytesField``): half their size in the table and in the span and answer indexes.

PostgreSQL converts the columns in place with ``decode(..., 'hex')`` in one ``ALTER TABLE`` (one rewrite of each
partition; the indexes on them are rebuilt). SQLite remakes the table and then converts the copied text."""

from django.db import migrations

import inference.fields

TABLE = "inference_inferencerecord"
#: Column, and whether it may be blank.
COLUMNS = (
    ("trace_id", False),
    ("span_id", False),
    ("end_user_pseudonym", True),
    ("prompt_hmac", True),
    ("answer_hmac", True),
)


def _new_fields(model) -> list[tuple]:
    pairs = []
    for name, blank in COLUMNS:
        old = model._meta.get_field(name)
        new = inference.fields.HexBytesField(old.verbose_name, blank=blank)
        new.set_attributes_from_name(name)
        new.model = model
        pairs.append((old, new))
    return pairs


def _sqlite_convert(schema_editor, model, *, forwards: bool) -> None:
    for old, new in _new_fields(model):
        schema_editor.alter_field(model, *((old, new) if forwards else (new, old)))
    names = [name for name, _blank in COLUMNS]
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f'SELECT id, {", ".join(names)} FROM "{TABLE}"')  # noqa: S608 - the table's own names
        rows = cursor.fetchall()
        converted = [
            [
                *(
                    (bytes.fromhex(value) if forwards else bytes(value).hex()) if value is not None else None
                    for value in values
                ),
                pk,
            ]
            for pk, *values in rows
        ]
        assignments = ", ".join(f'"{name}" = %s' for name in names)
        cursor.executemany(f'UPDATE "{TABLE}" SET {assignments} WHERE id = %s', converted)  # noqa: S608


def _postgresql_convert(schema_editor, *, forwards: bool) -> None:
    if forwards:
        changes = ", ".join(f'ALTER COLUMN "{name}" TYPE bytea USING decode("{name}", \'hex\')' for name, _ in COLUMNS)
    else:
        changes = ", ".join(
            f'ALTER COLUMN "{name}" TYPE varchar({64 if blank else {"trace_id": 32, "span_id": 16}[name]}) '
            f"USING encode(\"{name}\", 'hex')"
            for name, blank in COLUMNS
        )
    schema_editor.execute(f'ALTER TABLE "{TABLE}" {changes}')


def digests_to_bytes(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        _postgresql_convert(schema_editor, forwards=True)
    else:
        _sqlite_convert(schema_editor, apps.get_model("inference", "InferenceRecord"), forwards=True)


def digests_to_hex(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        _postgresql_convert(schema_editor, forwards=False)
    else:
        # RunPython sees the state before this migration both ways: its fields are the hex ones to go back to.
        _sqlite_convert(schema_editor, apps.get_model("inference", "InferenceRecord"), forwards=False)


class Migration(migrations.Migration):
    dependencies = [
        ("inference", "0005_answer_reviews"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="inferencerecord",
                    name="answer_hmac",
                    field=inference.fields.HexBytesField(blank=True, verbose_name="answer HMAC-SHA-256"),
                ),
                migrations.AlterField(
                    model_name="inferencerecord",
                    name="end_user_pseudonym",
                    field=inference.fields.HexBytesField(blank=True, verbose_name="end user (keyed pseudonym)"),
                ),
                migrations.AlterField(
                    model_name="inferencerecord",
                    name="prompt_hmac",
                    field=inference.fields.HexBytesField(blank=True, verbose_name="prompt HMAC-SHA-256"),
                ),
                migrations.AlterField(
                    model_name="inferencerecord",
                    name="span_id",
                    field=inference.fields.HexBytesField(verbose_name="span id"),
                ),
                migrations.AlterField(
                    model_name="inferencerecord",
                    name="trace_id",
                    field=inference.fields.HexBytesField(verbose_name="trace id"),
                ),
            ],
            database_operations=[migrations.RunPython(digests_to_bytes, digests_to_hex, elidable=False)],
        ),
    ]
