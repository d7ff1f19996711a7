"""The least-privileged PostgreSQL role the web and worker processes connect as.

Migrations run as the role that owns the tables; the application connects as another role, which owns nothing,
is no superuser and may only SELECT and INSERT on the append-only tables (ledger, signatures, history, access
events and every other table carrying the append-only triggers). So even a compromised application can neither
rewrite evidence nor switch off what protects it: UPDATE, DELETE and TRUNCATE are refused by privileges before the
triggers are reached, ``ALTER TABLE ... DISABLE TRIGGER`` needs ownership, and
``SET session_replication_role`` needs a superuser.

Role names belong to a deployment, not to the schema, so this is a management command run by the owner after
every ``migrate`` rather than a migration. New tables get SELECT and INSERT only until it runs again.

Which tables are append-only is taken from the code, not only from the triggers found in the database: every
table a migration applied ``MakeAppendOnly`` to and every simple-history table. A table expected to be append-only
whose triggers are missing or disabled stops the command, since reading the set from the triggers alone would
quietly grant UPDATE and DELETE on exactly the table that lost them. After granting, the role's *effective*
privileges are checked with ``has_table_privilege``, for the role and every role it is a member of: a direct
REVOKE does not remove UPDATE inherited through another role or granted to PUBLIC, and either would undo the
point of the role. The whole run is one transaction, so a refused run grants nothing.
"""

import re
from dataclasses import dataclass, field

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from audit.append_only import protected_tables, unprotected_tables

#: What the application may do on an ordinary table.
ORDINARY = "SELECT, INSERT, UPDATE, DELETE"
#: What it may do on an append-only table, and what any table created later gets until the grant runs again.
APPEND_ONLY = "SELECT, INSERT"
#: Django's record of applied migrations: the application reads it, only the owner's ``migrate`` writes it.
READ_ONLY_TABLES = frozenset({"django_migrations"})
#: What the application role must not hold, by any route, on an append-only table.
REWRITING_PRIVILEGES = ("UPDATE", "DELETE", "TRUNCATE")
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class RoleRefused(Exception):
    """The role cannot safely be the application's role (it is the owner, a superuser, owns tables ...)."""


@dataclass
class Grants:
    role: str
    created: bool = False
    ordinary: list[str] = field(default_factory=list)
    append_only: list[str] = field(default_factory=list)
    read_only: list[str] = field(default_factory=list)


def _quoted(connection: BaseDatabaseWrapper, name: str) -> str:
    return connection.ops.quote_name(name)


def _rewriting_privileges(cursor, *, role: str, schema: str, tables: list[str]) -> dict[str, list[str]]:
    """``{table: [privilege, ...]}`` for every append-only table on which ``role`` can UPDATE, DELETE or TRUNCATE,
    directly, through PUBLIC, or through any role it is a member of (inherited, or reachable with SET ROLE)."""
    cursor.execute(
        "SELECT t.name, p.privilege FROM unnest(%s::text[]) AS t(name) "
        "CROSS JOIN unnest(%s::text[]) AS p(privilege) "
        "WHERE EXISTS (SELECT 1 FROM pg_roles r WHERE pg_has_role(%s, r.oid, 'MEMBER') "
        "AND has_table_privilege(r.oid, format('%%I.%%I', %s::text, t.name)::regclass, p.privilege)) "
        "ORDER BY 1, 2",
        [tables, list(REWRITING_PRIVILEGES), role, schema],
    )
    found: dict[str, list[str]] = {}
    for table, privilege in cursor.fetchall():
        found.setdefault(table, []).append(privilege)
    return found


def grant_app_role(*, role: str, password: str | None = None, using: str = "default") -> Grants:
    """Create or update ``role`` and set its privileges on every table of the current schema (idempotent).

    ``password`` makes it a LOGIN role with that password; without it a new role is NOLOGIN (grant it to the
    login roles the processes use) and an existing role keeps its login attribute.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        raise RoleRefused(
            f"An application database role is a PostgreSQL feature; this database is {connection.vendor}."
        )
    if not _ROLE_NAME.match(role):
        raise RoleRefused(f"{role!r} is not a role name this command creates: lower-case letters, digits and _.")
    name = _quoted(connection, role)
    grants = Grants(role=role)
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_schema(), current_database()")
        owner, schema, database = cursor.fetchone()
        if role == owner:
            raise RoleRefused(f"{role} is the role running this command (the owner); the application needs another.")
        cursor.execute(
            "SELECT rolsuper, rolbypassrls, rolreplication, rolcreaterole FROM pg_roles WHERE rolname = %s", [role]
        )
        attributes = cursor.fetchone()
        if attributes is None:
            login = "LOGIN PASSWORD %s" if password else "NOLOGIN"
            cursor.execute(
                f"CREATE ROLE {name} {login} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
                [password] if password else None,
            )
            grants.created = True
        else:
            labels = ("SUPERUSER", "BYPASSRLS", "REPLICATION", "CREATEROLE")
            powers = [label for label, held in zip(labels, attributes, strict=True) if held]
            if powers:
                raise RoleRefused(f"{role} holds {', '.join(powers)}; an application role must hold none of these.")
            if password:
                cursor.execute(f"ALTER ROLE {name} LOGIN PASSWORD %s", [password])
        cursor.execute(
            "SELECT c.relname, pg_get_userbyid(c.relowner), pg_has_role(%s, c.relowner, 'MEMBER') "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY c.relname",
            [role],
        )
        tables = cursor.fetchall()
        owning = sorted({table_owner for _table, table_owner, member in tables if member})
        if owning:
            raise RoleRefused(
                f"{role} owns, or is a member of a role that owns, tables of this schema ({', '.join(owning)}): "
                "it could alter them and their triggers."
            )
        existing = {table for table, _owner, _member in tables}
        protected = protected_tables(connection)
        if unprotected := unprotected_tables(connection):
            raise RoleRefused(
                f"These append-only tables lack their append-only triggers, or have them disabled: "
                f"{', '.join(unprotected)}. Restore them (migrate, or ALTER TABLE ... ENABLE ALWAYS TRIGGER) "
                "before granting."
            )
        append_only = protected & existing
        quoted_schema = _quoted(connection, schema)
        cursor.execute(f"GRANT CONNECT ON DATABASE {_quoted(connection, database)} TO {name}")
        cursor.execute(f"GRANT USAGE ON SCHEMA {quoted_schema} TO {name}")
        cursor.execute(f"REVOKE CREATE ON SCHEMA {quoted_schema} FROM {name}")
        for table, _owner, _member in tables:
            cursor.execute(f"REVOKE ALL ON TABLE {quoted_schema}.{_quoted(connection, table)} FROM {name}")
            if table in READ_ONLY_TABLES:
                privileges, bucket = "SELECT", grants.read_only
            elif table in append_only:
                privileges, bucket = APPEND_ONLY, grants.append_only
            else:
                privileges, bucket = ORDINARY, grants.ordinary
            cursor.execute(f"GRANT {privileges} ON TABLE {quoted_schema}.{_quoted(connection, table)} TO {name}")
            bucket.append(table)
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {quoted_schema} TO {name}")
        # Tables the owner creates later (the next migrate) start append-only for this role until the grant runs.
        cursor.execute(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {_quoted(connection, owner)} IN SCHEMA {quoted_schema} "
            f"GRANT {APPEND_ONLY} ON TABLES TO {name}"
        )
        cursor.execute(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {_quoted(connection, owner)} IN SCHEMA {quoted_schema} "
            f"GRANT USAGE, SELECT ON SEQUENCES TO {name}"
        )
        leaks = _rewriting_privileges(cursor, role=role, schema=schema, tables=sorted(append_only))
        if leaks:
            listed = "; ".join(f"{table} ({', '.join(privileges)})" for table, privileges in leaks.items())
            raise RoleRefused(
                f"{role} can still rewrite append-only tables, through PUBLIC or a role it is a member of: {listed}. "
                "Revoke those grants (or the membership) and run this again; nothing was granted."
            )
    return grants
