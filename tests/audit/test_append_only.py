"""The database itself refuses to change or remove evidence."""

from io import StringIO

import pytest
from django.apps import apps
from django.core import checks
from django.core.management import call_command
from django.db import DatabaseError, connection, models, transaction
from django.db.migrations.state import ProjectState

from audit import append_only, ledger
from audit.choices import LedgerAction
from audit.models import LedgerEntry
from audit.operations import RestoreAppendOnly
from tests.tampering import triggers_lifted

pytestmark = pytest.mark.django_db


def raw(sql: str) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Otherwise PostgreSQL refuses TRUNCATE for pending foreign-key checks before any trigger runs.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(sql)


def audit_tables() -> set[str]:
    names = {
        ("audit", "ledgerentry"),
        ("audit", "signature"),
        ("audit", "accessevent"),
        ("audit", "ledgercheckpoint"),
        ("audit", "ledgerverification"),
        ("audit", "ledgertreetile"),
        ("audit", "verificationkey"),
        ("governance", "breakglassoverride"),
    }
    return {apps.get_model(app_label, name)._meta.db_table for app_label, name in names}


def history_tables() -> set[str]:
    return {model._meta.db_table for model in apps.get_models() if model.__name__.startswith("Historical")}


def test_every_audit_table_and_every_history_table_carries_the_triggers() -> None:
    assert history_tables(), "the governed test app has at least one history table"

    assert audit_tables() | history_tables() <= append_only.protected_tables(connection)


@pytest.mark.parametrize("statement", ["UPDATE {t} SET action = 'view'", "DELETE FROM {t}"])
def test_update_and_delete_of_ledger_rows_are_refused(statement: str) -> None:
    ledger.append(action=LedgerAction.EXPORT, actor_name="system:test")

    with pytest.raises(DatabaseError, match="append-only"):
        raw(statement.format(t=LedgerEntry._meta.db_table))
    assert LedgerEntry.objects.get().action == LedgerAction.EXPORT


def test_history_rows_cannot_be_rewritten(memo) -> None:
    table = type(memo).history.model._meta.db_table

    with pytest.raises(DatabaseError, match="append-only"):
        raw(f"UPDATE {table} SET title = 'rewritten'")  # noqa: S608
    with pytest.raises(DatabaseError, match="append-only"):
        raw(f"DELETE FROM {table}")  # noqa: S608


def test_the_orm_cannot_delete_a_ledger_entry_either() -> None:
    entry = ledger.append(action=LedgerAction.EXPORT, actor_name="system:test")

    with pytest.raises(DatabaseError), transaction.atomic():
        entry.delete()
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.postgres(reason="SQLite has no TRUNCATE")
def test_truncate_is_refused_on_postgresql() -> None:
    ledger.append(action=LedgerAction.EXPORT, actor_name="system:test")

    with pytest.raises(DatabaseError, match="append-only"):
        raw(f"TRUNCATE {LedgerEntry._meta.db_table} CASCADE")
    assert LedgerEntry.objects.count() == 1


@pytest.mark.postgres(reason="session_replication_role is PostgreSQL's")
def test_replica_mode_does_not_silence_the_triggers() -> None:
    ledger.append(action=LedgerAction.EXPORT, actor_name="system:test")

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(f"DELETE FROM {LedgerEntry._meta.db_table}")  # noqa: S608
    assert LedgerEntry.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_migration_that_rebuilds_a_history_table_keeps_its_triggers(memo) -> None:
    """SQLite rebuilds a table to alter a column (new table, copy, drop, rename); the rebuilt table must be as
    append-only as the old one. PostgreSQL alters in place; the promise holds on both."""
    history = type(memo).history.model
    table = history._meta.db_table
    old_field = history._meta.get_field("title")
    new_field = models.CharField(max_length=250)
    new_field.set_attributes_from_name("title")

    with connection.schema_editor() as editor:
        editor.alter_field(history, old_field, new_field)
    try:
        assert table in append_only.protected_tables(connection)
        with pytest.raises(DatabaseError, match="append-only"):
            raw(f"UPDATE {table} SET title = 'rewritten'")  # noqa: S608
        assert history.objects.filter(title=memo.title).exists(), "the rows came through the rebuild"
    finally:
        with connection.schema_editor() as editor:
            editor.alter_field(history, new_field, old_field)


def database_check_errors() -> list:
    return [error for error in checks.run_checks(databases=["default"]) if error.id == "governance.E012"]


def test_the_database_check_names_a_table_that_lost_its_triggers_and_the_restore_command_puts_them_back() -> None:
    ledger.append(action=LedgerAction.EXPORT, actor_name="system:test")
    table = LedgerEntry._meta.db_table
    assert database_check_errors() == []

    with triggers_lifted(table):
        [error] = database_check_errors()
        assert table in error.msg
        assert "restore_append_only" in error.hint

        out = StringIO()
        call_command("restore_append_only", stdout=out)
        assert f"Restored the append-only triggers of {table}." in out.getvalue()
        assert database_check_errors() == []
        with pytest.raises(DatabaseError, match="append-only"):
            raw(f"DELETE FROM {table}")  # noqa: S608


@pytest.mark.postgres(reason="SQLite triggers cannot be disabled")
def test_the_database_check_names_a_table_whose_triggers_are_disabled() -> None:
    table = LedgerEntry._meta.db_table
    stem = append_only.trigger_prefix(table)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER "{stem}_append_only"')

    [error] = database_check_errors()
    assert table in error.msg
    call_command("restore_append_only", stdout=StringIO())
    assert database_check_errors() == []


@pytest.mark.django_db(transaction=True)  # SQLite's schema editor needs to be outside a transaction
def test_restoring_triggers_installs_them_only_where_they_are_missing(memo) -> None:
    """The repair migration for databases whose history tables lost their triggers to an earlier SQLite rebuild:
    it puts missing triggers back and leaves present ones as they are."""
    history_model = type(memo).history.model
    table = history_model._meta.db_table
    operation = RestoreAppendOnly(history_model.__name__.lower())
    state = ProjectState.from_apps(apps)

    with triggers_lifted(table):
        assert table not in append_only.protected_tables(connection)
        with connection.schema_editor() as editor:
            operation.database_forwards("governed_app", editor, state, state)
        assert table in append_only.protected_tables(connection)
        with connection.schema_editor() as editor:
            operation.database_forwards("governed_app", editor, state, state)  # a second run changes nothing
        assert table in append_only.protected_tables(connection)
