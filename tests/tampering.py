"""What an attacker with the database owner's rights does to evidence: lift the append-only triggers of a table,
change its rows, and put the triggers back so that nothing looks amiss."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.db.backends.utils import CursorWrapper

from audit import append_only


@contextmanager
def triggers_lifted(table: str) -> Iterator[CursorWrapper]:
    """A cursor on which ``table`` can be rewritten; its triggers are restored when the block ends."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # PostgreSQL refuses DDL on a table with pending deferred foreign-key checks: run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for statement in append_only.drop_statements(connection.vendor, table):
            cursor.execute(statement)
        try:
            yield cursor
        finally:  # the block may have restored them itself (the restore command does)
            for statement in append_only.restore_statements(connection.vendor, table):
                cursor.execute(statement)
