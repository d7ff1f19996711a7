"""The least-privileged PostgreSQL role the web and worker processes connect as.

Migrations run as the role that owns the tables; the application connects as another role, which owns nothing,
is no superuser and may only SELECT and INSERT on the append-only tables (ledger, signatures, history, access
events and every other table carrying the append-only triggers). So even a compromised application can neither
rewrite evidence nor switch off what protects it: UPDATE, DELETE and TRUNCATE are refused by privileges before the
triggers are reached, ``ALTER TABLE ... DISABLE TRIGGER`` needs ownership, and
``SET session_replication_role`` needs a superuser.

Role names belong to a deployment, not to the schema, so this is a management command run by the owner after
every ``migrate`` rather than a migration. New tables get SELECT and INSERT only until it runs again.
"""

import re
from dataclasses import dataclass, field

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from governance.append_only import protected_tables

#: What the application may do on an ordinary table.
ORDINARY = "SELECT, INSERT, UPDATE, DELETE"
#: What it may do on an append-only table, and what any table created later gets until the grant runs again.
APPEND_ONLY = "SELECT, INSERT"
#: Django's record of applied migrations: the application reads it, only the owner's ``migrate`` writes it.
READ_ONLY_TABLES = frozenset({"django_migrations"})
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
    with connection.cursor() as cursor:
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
        append_only = protected_tables(connection)
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
    return grants
