"""The application's PostgreSQL role may only SELECT and INSERT on the evidence tables, owns nothing and is no
superuser: whatever the application is made to send, it can neither rewrite evidence nor switch off the triggers.

Most tests take the role with ``SET LOCAL ROLE`` inside the test's transaction (privileges are checked against the
current role exactly as for a connection made as it, and everything, the role included, rolls back); one test
connects as a LOGIN role the way the web processes do."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO

import psycopg
import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from accounts.choices import Role
from audit import append_only, ledger
from audit.choices import LedgerAction
from audit.models import AccessEvent, LedgerEntry, Signature
from tests.governed_app.models import Memo
from tests.governed_app.services import memo_create, memo_edit, memo_publish
from tests.signing_in import login_verified

pytestmark = pytest.mark.postgres(reason="database roles and privileges are PostgreSQL's")

#: Evidence tables, each with a column to name in an UPDATE.
EVIDENCE_TABLES = {
    "governance_ledgerentry": "sequence",
    "governance_signature": "id",
    "governance_accessevent": "id",
    "governance_historicalusecase": "history_id",
    "registry_validationresult": "id",
}
FORBIDDEN = {
    "UPDATE": "UPDATE {table} SET {column} = {column}",
    "DELETE": "DELETE FROM {table}",
    "TRUNCATE": "TRUNCATE {table}",
    "DISABLE TRIGGER": "ALTER TABLE {table} DISABLE TRIGGER ALL",
    "replica mode": "SET session_replication_role = replica",
}


def new_role_name() -> str:
    return f"portal_app_test_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def app_role(db) -> str:
    role = new_role_name()
    call_command("grant_app_role", role=role, stdout=StringIO())
    return role


@contextmanager
def as_role(role: str) -> Iterator[None]:
    """Run a block with ``role``'s privileges, on the connection Django (and the test client) uses."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'SET LOCAL ROLE "{role}"')
        yield
        cursor.execute("RESET ROLE")


def refusal(role: str, statement: str) -> str:
    with pytest.raises(DatabaseError) as refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'SET LOCAL ROLE "{role}"')
        cursor.execute(statement)
    return str(refused.value)


def current_user() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        return cursor.fetchone()[0]


# --- negative cases first ---------------------------------------------------------------------------------


@pytest.mark.parametrize("table", list(EVIDENCE_TABLES))
@pytest.mark.parametrize("what", list(FORBIDDEN))
def test_the_application_role_is_refused_every_way_of_rewriting_evidence(app_role: str, table: str, what: str) -> None:
    message = refusal(app_role, FORBIDDEN[what].format(table=table, column=EVIDENCE_TABLES[table]))

    # Refused by privileges, before the append-only triggers are ever reached.
    assert "permission denied" in message or "must be owner" in message, message
    assert "append-only" not in message
    assert current_user() != app_role  # the refusal rolled the role switch back too


def test_privileges_refuse_before_the_triggers_do_and_the_owner_still_meets_the_triggers(app_role: str) -> None:
    ledger.append(action=LedgerAction.EXPORT, actor_name="system:test")

    assert "permission denied" in refusal(app_role, "DELETE FROM governance_ledgerentry")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM governance_ledgerentry")
    assert LedgerEntry.objects.count() == 1


def test_the_application_role_cannot_create_tables_or_touch_the_migration_record(app_role: str) -> None:
    assert "permission denied" in refusal(app_role, "CREATE TABLE sneaky (id int)")
    assert "permission denied" in refusal(app_role, "DELETE FROM django_migrations")
    assert "permission denied" in refusal(
        app_role, "INSERT INTO django_migrations (app, name, applied) VALUES ('x', 'y', now())"
    )


def test_the_command_refuses_the_owner_itself(db) -> None:
    with pytest.raises(CommandError, match="the owner"):
        call_command("grant_app_role", role=current_user(), stdout=StringIO())


def test_the_command_refuses_a_superuser_role(db) -> None:
    role = new_role_name()
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{role}" SUPERUSER')

    with pytest.raises(CommandError, match="SUPERUSER"):
        call_command("grant_app_role", role=role, stdout=StringIO())


def test_the_command_refuses_a_role_that_could_act_as_the_owner(db) -> None:
    role = new_role_name()
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{role}" NOLOGIN')
        cursor.execute(f'GRANT "{current_user()}" TO "{role}"')

    with pytest.raises(CommandError, match="owns, or is a member of a role that owns"):
        call_command("grant_app_role", role=role, stdout=StringIO())


def test_the_command_fails_for_a_role_that_inherits_update_on_the_ledger_from_another_role(db) -> None:
    role, parent = new_role_name(), new_role_name()
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{parent}" NOLOGIN')
        cursor.execute(f'GRANT UPDATE ON governance_ledgerentry TO "{parent}"')
        cursor.execute(f'CREATE ROLE "{role}" NOLOGIN')
        cursor.execute(f'GRANT "{parent}" TO "{role}"')

    with pytest.raises(CommandError, match=r"governance_ledgerentry \(UPDATE\)"):
        call_command("grant_app_role", role=role, stdout=StringIO())

    with connection.cursor() as cursor:  # the refused run granted nothing
        cursor.execute("SELECT has_table_privilege(%s, 'governance_signature', 'INSERT')", [role])
        assert cursor.fetchone() == (False,)


def test_the_command_fails_when_public_may_delete_from_an_append_only_table(db) -> None:
    with connection.cursor() as cursor:
        cursor.execute("GRANT DELETE, TRUNCATE ON governance_signature TO PUBLIC")

    with pytest.raises(CommandError, match=r"governance_signature \(DELETE, TRUNCATE\)"):
        call_command("grant_app_role", role=new_role_name(), stdout=StringIO())


@pytest.mark.parametrize("change", ["DISABLE TRIGGER governance_accessevent_append_only", "DISABLE TRIGGER ALL"])
def test_the_command_fails_when_an_append_only_table_has_lost_its_triggers(db, change: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE governance_accessevent {change}")

    with pytest.raises(CommandError, match=r"lack their append-only triggers.*governance_accessevent"):
        call_command("grant_app_role", role=new_role_name(), stdout=StringIO())


def test_the_command_fails_when_an_append_only_tables_triggers_were_dropped(db) -> None:
    with connection.cursor() as cursor:
        for statement in append_only.drop_statements("postgresql", "governance_historicalusecase"):
            cursor.execute(statement)

    with pytest.raises(CommandError, match="governance_historicalusecase"):
        call_command("grant_app_role", role=new_role_name(), stdout=StringIO())


@pytest.mark.parametrize("role", ["Portal-App", "app; DROP TABLE x", ""])
def test_the_command_refuses_a_malformed_role_name(db, role: str) -> None:
    with pytest.raises(CommandError, match="not a role name"):
        call_command("grant_app_role", role=role, stdout=StringIO())


def test_a_login_password_is_read_from_the_environment_and_must_be_there(db, monkeypatch) -> None:
    monkeypatch.delenv("PORTAL_APP_PASSWORD", raising=False)

    with pytest.raises(CommandError, match="PORTAL_APP_PASSWORD is empty or not set"):
        call_command("grant_app_role", role=new_role_name(), password_env="PORTAL_APP_PASSWORD", stdout=StringIO())


def test_tables_created_after_the_grant_are_append_only_for_the_role_until_it_runs_again(app_role: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE later_table (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, note text)")
        cursor.execute(
            "SELECT has_table_privilege(%s, 'later_table', 'INSERT'), has_table_privilege(%s, 'later_table', 'UPDATE')",
            [app_role, app_role],
        )
        assert cursor.fetchone() == (True, False)

    call_command("grant_app_role", role=app_role, stdout=StringIO())

    with connection.cursor() as cursor:
        cursor.execute("SELECT has_table_privilege(%s, 'later_table', 'UPDATE')", [app_role])
        assert cursor.fetchone() == (True,)


def test_running_the_grant_again_changes_nothing(app_role: str) -> None:
    def privileges() -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
                "WHERE grantee = %s ORDER BY 1, 2",
                [app_role],
            )
            return cursor.fetchall()

    before = privileges()
    out = StringIO()
    call_command("grant_app_role", role=app_role, stdout=out)

    assert privileges() == before
    assert f"Role {app_role} updated." in out.getvalue()
    assert ("governance_ledgerentry", "INSERT") in before
    assert ("governance_ledgerentry", "UPDATE") not in before
    assert not [grant for grant in before if grant[1] in {"TRUNCATE", "TRIGGER", "REFERENCES"}]


# --- what the application still does as that role -----------------------------------------------------------


def test_the_application_role_appends_to_and_reads_the_ledger_and_updates_ordinary_tables(app_role: str) -> None:
    with as_role(app_role):
        assert current_user() == app_role
        entry = ledger.append(action=LedgerAction.EXPORT, payload={"as": "app"}, actor_name="system:test")
        assert LedgerEntry.objects.filter(pk=entry.pk).exists()
        with connection.cursor() as cursor:
            cursor.execute("UPDATE django_content_type SET model = model")
            cursor.execute("DELETE FROM django_session")


def test_the_portal_works_as_the_application_role(app_role: str, user_in_role) -> None:
    """Governed records, history, signatures, the ledger, sign-in and an admin download, all as the app role."""
    author = user_in_role(Role.ML_ENGINEER, username="author")
    author.user_permissions.add(Permission.objects.get(codename="change_memo"))
    auditor = user_in_role(Role.AUDITOR, username="auditor")
    client = Client()

    with as_role(app_role):
        memo = memo_create(actor=author, title="Role check")
        memo = memo_edit(memo=memo, actor=author, body="edited as the application role")
        memo_publish(memo=memo, actor=author, password="governance-demo-2026")
        login_verified(client, auditor)
        assert client.get("/admin/").status_code == 200
        assert client.get(reverse("admin:audit_ledgerentry_export")).status_code == 200

    assert Memo.objects.get(pk=memo.pk).status != "draft"
    assert memo.history.count() >= 2
    assert Signature.objects.filter(signer=author).count() == 1
    assert AccessEvent.objects.filter(user=auditor).exists()
    assert LedgerEntry.objects.filter(action=LedgerAction.EXPORT).exists()


@pytest.mark.django_db(transaction=True)
def test_a_login_role_connecting_on_its_own_is_refused_the_same(monkeypatch) -> None:
    role, password = new_role_name(), uuid.uuid4().hex
    monkeypatch.setenv("PORTAL_APP_PASSWORD", password)
    call_command("grant_app_role", role=role, password_env="PORTAL_APP_PASSWORD", stdout=StringIO())
    settings = connection.settings_dict
    try:
        with psycopg.connect(
            host=settings["HOST"] or "127.0.0.1",
            port=settings["PORT"] or 5432,
            dbname=settings["NAME"],
            user=role,
            password=password,
            autocommit=True,
        ) as app:
            assert app.execute("SELECT current_user").fetchone() == (role,)
            assert app.execute("SELECT count(*) FROM governance_ledgerentry").fetchone() is not None
            app.execute("DELETE FROM django_session")  # an ordinary table
            for statement in FORBIDDEN.values():
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    app.execute(statement.format(table="governance_ledgerentry", column="sequence"))
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP OWNED BY "{role}"')
            cursor.execute(f'DROP ROLE "{role}"')
