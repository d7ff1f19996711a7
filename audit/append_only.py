"""Database triggers that make a table append-only: UPDATE, DELETE and TRUNCATE are refused.

PostgreSQL triggers are created ``ENABLE ALWAYS`` so that ``session_replication_role = replica`` does not
silence them, with a statement-level trigger for TRUNCATE (which fires no DELETE trigger). SQLite gets
``RAISE(ABORT)`` triggers; it has no TRUNCATE (a DELETE without WHERE fires the DELETE trigger).
Someone with the right to drop triggers can still rewrite the table; the hash chain and the checkpoint
copies outside the database are what catch that.
"""

import hashlib

from django.apps import apps
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.loader import MigrationLoader

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION governance_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'append-only table ' || TG_TABLE_NAME || ': ' || TG_OP || ' refused',
        HINT = 'Governed evidence is never changed or removed; append a new entry instead.';
END
$$
"""


def trigger_prefix(table: str) -> str:
    """A trigger name stem within PostgreSQL's 63-character identifier limit."""
    if len(table) <= 44:
        return table
    return f"{table[:35]}_{hashlib.sha256(table.encode()).hexdigest()[:8]}"


def create_statements(vendor: str, table: str) -> list[str]:
    stem = trigger_prefix(table)
    if vendor == "postgresql":
        return [
            _PG_FUNCTION,
            f'CREATE TRIGGER "{stem}_append_only" BEFORE UPDATE OR DELETE ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION governance_refuse_change()",
            f'CREATE TRIGGER "{stem}_no_truncate" BEFORE TRUNCATE ON "{table}" '
            "FOR EACH STATEMENT EXECUTE FUNCTION governance_refuse_change()",
            f'ALTER TABLE "{table}" ENABLE ALWAYS TRIGGER "{stem}_append_only"',
            f'ALTER TABLE "{table}" ENABLE ALWAYS TRIGGER "{stem}_no_truncate"',
        ]
    if vendor == "sqlite":
        return [
            f'CREATE TRIGGER "{stem}_no_update" BEFORE UPDATE ON "{table}" '
            f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: UPDATE refused'); END",
            f'CREATE TRIGGER "{stem}_no_delete" BEFORE DELETE ON "{table}" '
            f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: DELETE refused'); END",
        ]
    raise NotImplementedError(f"No append-only triggers for the {vendor} database backend.")


def drop_statements(vendor: str, table: str) -> list[str]:
    stem = trigger_prefix(table)
    if vendor == "postgresql":
        return [
            f'DROP TRIGGER IF EXISTS "{stem}_append_only" ON "{table}"',
            f'DROP TRIGGER IF EXISTS "{stem}_no_truncate" ON "{table}"',
        ]
    return [f'DROP TRIGGER IF EXISTS "{stem}_no_update"', f'DROP TRIGGER IF EXISTS "{stem}_no_delete"']


def restore_statements(vendor: str, table: str) -> list[str]:
    """Drop whatever is left of the triggers (on PostgreSQL they may be there but disabled) and create them anew."""
    return [*drop_statements(vendor, table), *create_statements(vendor, table)]


def protected_tables(connection: BaseDatabaseWrapper) -> set[str]:
    """Tables that currently carry the append-only triggers (all of them, for every vendor's set)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgname LIKE %s AND t.tgenabled = 'A' "
                "INTERSECT "
                "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgname LIKE %s AND t.tgenabled = 'A'",
                ["%_append_only", "%_no_truncate"],
            )
        else:
            cursor.execute(
                "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s "
                "INTERSECT "
                "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
                ["%_no_update", "%_no_delete"],
            )
        return {row[0] for row in cursor.fetchall()}


def expected_append_only_tables(connection: BaseDatabaseWrapper, loader: MigrationLoader | None = None) -> set[str]:
    """The tables the code makes append-only: those an applied migration ran ``MakeAppendOnly`` on (resolved to
    their current table names) and every simple-history table (each must carry the triggers, see
    ``audit.models.base``)."""
    from audit.operations import MakeAppendOnly  # the operation is built on this module

    loader = loader or MigrationLoader(connection, ignore_no_migrations=True)
    state = loader.project_state()
    current_tables = {model._meta.db_table for model in state.apps.get_models()}
    tables = {model._meta.db_table for model in apps.get_models() if model.__name__.startswith("Historical")}
    for key in loader.applied_migrations:
        migration = loader.graph.nodes.get(key)
        for operation in getattr(migration, "operations", ()):
            if not isinstance(operation, MakeAppendOnly):
                continue
            model_key = (migration.app_label, operation.model_name.lower())
            if model_key in state.models:
                tables.add(state.apps.get_model(*model_key)._meta.db_table)
            elif (table := "_".join(model_key)) in current_tables:
                tables.add(table)  # the model moved to another app and kept its table (the trust core's did)
            # otherwise the model was removed since, and has no table left to protect
    return tables


def unprotected_tables(connection: BaseDatabaseWrapper, loader: MigrationLoader | None = None) -> list[str]:
    """Existing tables the code makes append-only that lack their triggers (or, on PostgreSQL, have them disabled
    or not ``ENABLE ALWAYS``): each is a table whose evidence the database would let anyone rewrite."""
    existing = set(connection.introspection.table_names())
    return sorted((expected_append_only_tables(connection, loader) & existing) - protected_tables(connection))
