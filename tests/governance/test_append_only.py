"""The database itself refuses to change or remove evidence."""

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction

from governance import append_only, ledger
from governance.choices import LedgerAction
from governance.models import LedgerEntry

pytestmark = pytest.mark.django_db


def raw(sql: str) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Otherwise PostgreSQL refuses TRUNCATE for pending foreign-key checks before any trigger runs.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(sql)


def audit_tables() -> set[str]:
    names = {
        "ledgerentry",
        "signature",
        "accessevent",
        "ledgercheckpoint",
        "ledgerverification",
        "breakglassoverride",
    }
    return {apps.get_model("governance", name)._meta.db_table for name in names}


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


@pytest.mark.postgres
def test_truncate_is_refused_on_postgresql() -> None:
    ledger.append(action=LedgerAction.EXPORT, actor_name="system:test")

    with pytest.raises(DatabaseError, match="append-only"):
        raw(f"TRUNCATE {LedgerEntry._meta.db_table} CASCADE")
    assert LedgerEntry.objects.count() == 1


@pytest.mark.postgres
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
