"""A database from before governance was split into audit, accounts and governance migrates forward without
losing anything.

The moves are state only (the tables keep their names), plus the moved models' content types, which carry the
permissions role groups hold. So: rows, grants, a pipeline token's reach and the ledger's verifiability must all
come through a migration back to before the split and forward again, on SQLite as on PostgreSQL."""

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.choices import Role
from accounts.models import PipelineToken, UserSession
from accounts.roles import grant_role_permissions
from accounts.services.tokens import pipeline_token_create, token_from_secret
from audit import ledger
from audit.checkpoints import ledger_checkpoint_create
from audit.choices import LedgerAction
from audit.models import LedgerCheckpoint, LedgerEntry, Signature
from audit.verification import verify_chain
from governance.choices import EuAiActRiskTier, InternalRiskTier, RegulatedDomain
from governance.models import UseCase

MOVED_TO_AUDIT = ("ledgerentry", "ledgercheckpoint", "ledgerverification", "signature", "accessevent")
MOVED_TO_ACCOUNTS = ("usersession", "pipelinetoken", "historicalpipelinetoken", "idempotentrequest")


def migrate(*targets: tuple[str, str | None]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(list(targets))


def apps_of(*models: str) -> set[str]:
    return set(ContentType.objects.filter(model__in=models).values_list("app_label", flat=True))


def auditor_grants() -> set[tuple[str, str]]:
    group = Group.objects.get(name=Role.AUDITOR)
    return {(p.content_type.model, p.codename) for p in group.permissions.select_related("content_type")}


@pytest.mark.django_db(transaction=True)
def test_a_database_from_before_the_split_migrates_forward_with_its_rows_grants_and_chain(memo, author) -> None:
    grant_role_permissions()
    for number in range(5):
        ledger.append(action=LedgerAction.EXPORT, actor_name="system:test", payload={"n": number})
    grants = auditor_grants()
    assert {("ledgerentry", "view_ledgerentry"), ("signature", "view_signature")} <= grants
    UserSession.objects.create(user=author, session_key="k" * 32)
    sessions = UserSession.objects.count()
    use_case = UseCase.objects.create(
        name="Support assistant",
        slug="support-assistant",
        business_objective="Answer",
        owner=author,
        regulated_domain=RegulatedDomain.BANKING,
        eu_ai_act_risk_tier=EuAiActRiskTier.HIGH,
        internal_risk_tier=InternalRiskTier.TIER_2,
    )
    issued = pipeline_token_create(
        service_account_name="training", name="CI", use_cases=[use_case], actor_name="system:test"
    )
    ledger_checkpoint_create()
    entries = list(LedgerEntry.objects.order_by("sequence").values_list("sequence", "entry_hash"))
    signatures = Signature.objects.count()
    assert apps_of(*MOVED_TO_AUDIT) == {"audit"}
    assert apps_of(*MOVED_TO_ACCOUNTS) == {"accounts"}

    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    migrate(("audit", None))  # back to the last state with everything inside the governance app
    assert apps_of(*MOVED_TO_AUDIT, *MOVED_TO_ACCOUNTS) == {"governance"}
    migrate(*leaves)

    assert apps_of(*MOVED_TO_AUDIT) == {"audit"}
    assert apps_of(*MOVED_TO_ACCOUNTS) == {"accounts"}
    token = token_from_secret(issued.secret)
    assert token is not None
    assert token.use_case_ids == {use_case.pk}
    assert list(use_case.pipeline_tokens.all()) == [PipelineToken.objects.get()]
    assert UserSession.objects.count() == sessions
    # Every entry is still there as it was; going forward again may append (the role grants' migration records
    # the grants of people already in role groups, here the token's service account).
    after = list(LedgerEntry.objects.order_by("sequence").values_list("sequence", "entry_hash"))
    assert after[: len(entries)] == entries
    assert Signature.objects.count() == signatures
    assert LedgerCheckpoint.objects.exists()
    assert auditor_grants() == grants
    assert verify_chain().ok
    call_command("check", databases=["default"])  # the append-only triggers are all still there
