"""A database from before the trust core became the audit app migrates forward without losing anything.

The move is state only (the tables keep their names), plus the moved models' content types, which carry the
permissions role groups hold. So: rows, grants and the ledger's verifiability must all come through a migration
back to before the split and forward again, on SQLite as on PostgreSQL."""

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from audit import ledger
from audit.checkpoints import ledger_checkpoint_create
from audit.choices import LedgerAction
from audit.models import LedgerCheckpoint, LedgerEntry, Signature
from audit.verification import verify_chain
from governance.choices import Role
from governance.roles import grant_role_permissions

MOVED = ("ledgerentry", "ledgercheckpoint", "ledgerverification", "signature", "accessevent")


def migrate(*targets: tuple[str, str | None]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(list(targets))


def app_of_moved_content_types() -> set[str]:
    return set(ContentType.objects.filter(model__in=MOVED).values_list("app_label", flat=True))


def auditor_grants() -> set[tuple[str, str]]:
    group = Group.objects.get(name=Role.AUDITOR)
    return {(p.content_type.model, p.codename) for p in group.permissions.select_related("content_type")}


@pytest.mark.django_db(transaction=True)
def test_a_database_from_before_the_split_migrates_forward_with_its_rows_grants_and_chain(memo) -> None:
    grant_role_permissions()
    for number in range(5):
        ledger.append(action=LedgerAction.EXPORT, actor_name="system:test", payload={"n": number})
    ledger_checkpoint_create()
    entries, signatures = LedgerEntry.objects.count(), Signature.objects.count()
    grants = auditor_grants()
    assert {("ledgerentry", "view_ledgerentry"), ("signature", "view_signature")} <= grants
    assert app_of_moved_content_types() == {"audit"}

    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    migrate(("audit", None))  # back to the last state with the trust core inside the governance app
    assert app_of_moved_content_types() == {"governance"}
    migrate(*leaves)

    assert app_of_moved_content_types() == {"audit"}
    assert (LedgerEntry.objects.count(), Signature.objects.count()) == (entries, signatures)
    assert LedgerCheckpoint.objects.exists()
    assert auditor_grants() == grants
    assert verify_chain().ok
    call_command("check", databases=["default"])  # the append-only triggers are all still there
