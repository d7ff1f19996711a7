"""``verify_ledger --state``: a governed row changed around the services (a plain SQL UPDATE by the application's own
database role, which the append-only triggers of the ledger and history tables do not stop) is named with its
record and field, kept with the verification run and shown on the landing page."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, models
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from accounts.services.tokens import pipeline_token_create
from audit import state_replay
from audit.choices import StateDifferenceKind
from audit.models import LedgerEntry, LedgerStateDifference, LedgerVerification
from governance.choices import EuAiActRiskTier, InternalRiskTier, RegulatedDomain, RevisionState
from governance.models import ThresholdPolicy, ThresholdRule, UseCase
from lineage.choices import DatasetVersionState
from lineage.models import DatasetVersion, SourceSystem
from lineage.services.authoring import source_system_create
from tests.signing_in import login_verified
from tests.tampering import triggers_lifted

pytestmark = pytest.mark.django_db


def verify_state() -> str:
    out = StringIO()
    call_command("verify_ledger", "--state", stdout=out)
    return out.getvalue()


def differences_named() -> str:
    """What ``verify_ledger --state`` says when rows differ (it exits 1)."""
    with pytest.raises(CommandError) as raised:
        verify_state()
    assert raised.value.returncode == 1
    return str(raised.value)


def set_column(model: type[models.Model], column: str, value: object, pk: object) -> None:
    """What the application's database role can do to a governed table: no trigger stops it."""
    table, column = connection.ops.quote_name(model._meta.db_table), connection.ops.quote_name(column)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, pk])  # noqa: S608


def version(slug: str, number: int) -> DatasetVersion:
    return DatasetVersion.objects.select_related("dataset").get(dataset__slug=slug, number=number)


def test_a_clean_database_verifies_with_state(demo_lineage) -> None:
    output = verify_state()

    run = LedgerVerification.objects.get()
    assert "Ledger OK" in output
    assert f"{run.records_checked} governed records agree with it" in output
    assert run.state_checked
    assert run.records_checked > 50
    assert run.state_differences == 0
    assert not LedgerStateDifference.objects.exists()


def test_a_dataset_version_approved_by_sql_is_named_with_its_field(demo_lineage) -> None:
    in_review = version("support-chats", 2)
    assert in_review.state != DatasetVersionState.APPROVED
    set_column(DatasetVersion, "state", "approved", in_review.pk)

    message = differences_named()

    assert "support-chats@2" in message
    assert f"state is 'approved' in the database but '{in_review.state}' in the ledger" in message
    difference = LedgerStateDifference.objects.get()
    assert (difference.object_type, difference.object_id) == ("lineage.datasetversion", str(in_review.pk))
    assert (difference.kind, difference.field) == (StateDifferenceKind.FIELD, "state")
    assert (difference.ledger_value, difference.row_value) == (in_review.state, "approved")
    assert difference.verification == LedgerVerification.objects.get(state_checked=True)
    assert LedgerVerification.objects.get().state_differences == 1


def test_an_approved_dataset_versions_digest_changed_by_sql_is_named(demo_lineage) -> None:
    approved = version("support-chats", 1)
    assert approved.state == DatasetVersionState.APPROVED
    set_column(DatasetVersion, "content_digest", "0" * 64, approved.pk)

    message = differences_named()

    assert "support-chats@1" in message
    assert "content_digest is '" + "0" * 64 + "' in the database" in message


def test_a_threshold_figure_changed_by_sql_is_named_with_its_revision_and_dimension(demo_lineage) -> None:
    policy = ThresholdPolicy.objects.filter(state=RevisionState.EFFECTIVE).order_by("pk").first()
    rule = ThresholdRule.objects.filter(policy=policy).order_by("dimension").first()
    lowered = rule.borderline_band + Decimal("1.00")  # a lower bar, still above the borderline band
    assert lowered < rule.min_pass_rate
    with triggers_lifted(ThresholdRule._meta.db_table):  # a revision's rows are append-only: the owner's rights
        set_column(ThresholdRule, "min_pass_rate", str(lowered), rule.pk)

    message = differences_named()

    assert str(policy) in message
    named = f"content.{rule.dimension}.min_pass_rate is '{lowered}' in the database but '{rule.min_pass_rate}'"
    assert named in message
    difference = LedgerStateDifference.objects.get()
    assert (difference.object_type, difference.object_id) == ("governance.thresholdpolicy", str(policy.pk))


def test_rows_created_or_deleted_without_the_ledger_are_named(demo_lineage) -> None:
    owner = demo_lineage["steward"]
    unrecorded = SourceSystem(name="Shadow CRM", kind="CRM", owner=owner, default_retention_days=30)
    unrecorded.skip_history_when_saving = True  # no history row, so no ledger entry
    unrecorded.save()
    gone = source_system_create(
        actor=owner, name="Retired ticketing", kind="ticketing", owner=owner, default_retention_days=30
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {SourceSystem._meta.db_table} WHERE id = %s", [gone.pk])  # noqa: S608

    message = differences_named()

    kinds = dict(LedgerStateDifference.objects.values_list("object_id", "kind"))
    assert kinds == {str(unrecorded.pk): StateDifferenceKind.UNRECORDED, str(gone.pk): StateDifferenceKind.VANISHED}
    assert f"Shadow CRM (lineage.sourcesystem #{unrecorded.pk}): row exists with no ledger record" in message
    assert f"Retired ticketing (lineage.sourcesystem #{gone.pk}): row deleted without a ledger entry" in message


def test_the_daily_verification_replays_the_rows_too(demo_lineage) -> None:
    from audit.tasks import verify_ledger_chain

    set_column(DatasetVersion, "state", "approved", version("support-chats", 2).pk)

    result = verify_ledger_chain.delay().get()

    run = LedgerVerification.objects.get()
    assert result["ok"]
    assert run.state_checked
    assert run.differences.get().field == "state"


def test_the_landing_page_names_the_difference_until_a_replay_finds_none(
    demo_lineage, client: Client, user_in_role
) -> None:
    in_review = version("support-chats", 2)
    set_column(DatasetVersion, "state", "approved", in_review.pk)
    differences_named()
    login_verified(client, user_in_role(Role.PRODUCT_OWNER))

    page = client.get(reverse("admin:index")).content.decode()

    assert 'id="ledger-state-alert"' in page
    assert "differs from the audit ledger" in page
    assert "support-chats@2" in page
    assert "state is &#x27;approved&#x27; in the database" in page

    call_command("verify_ledger", stdout=StringIO())  # the chain alone says nothing about the rows
    assert 'id="ledger-state-alert"' in client.get(reverse("admin:index")).content.decode()

    set_column(DatasetVersion, "state", in_review.state, in_review.pk)
    verify_state()
    assert 'id="ledger-state-alert"' not in client.get(reverse("admin:index")).content.decode()


def test_the_replay_reads_a_fixed_number_of_queries_per_batch_whatever_the_number_of_records(
    demo_lineage, monkeypatch
) -> None:
    def add_sources(count: int) -> None:
        owner = demo_lineage["steward"]
        first = SourceSystem.objects.count()
        for number in range(first, first + count):
            source_system_create(
                actor=owner, name=f"Source {number}", kind="CRM", owner=owner, default_retention_days=1
            )

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            report = state_replay.ledger_state_replay()
        assert report.findings == []
        return len(captured)

    add_sources(3)
    few = queries()
    add_sources(40)  # still within one batch of each pass
    assert queries() == few

    monkeypatch.setattr(state_replay, "BATCH", 10)
    before = queries()
    add_sources(10)  # ten more sources: one more batch of rows and one more of created records, two queries each
    assert queries() == before + 4


def test_edits_through_services_replay_clean_including_times_the_database_sets(memo, author) -> None:
    from tests.governed_app.models import Memo
    from tests.governed_app.services import memo_edit

    edited = memo_edit(memo=memo, actor=author, body="Redact card numbers and CVVs.")
    assert edited.updated_at != memo.updated_at  # auto_now: not editable, still in the ledger's changes
    assert "Ledger OK" in verify_state()

    set_column(Memo, "amount", "1000000.00", memo.pk)
    message = differences_named()

    assert f"Card redaction rule (governed_app.memo #{memo.pk}): amount is '1000000.00' in the database" in message


def test_a_token_recorded_before_tokens_moved_to_accounts_replays_under_its_former_type(memo, author) -> None:
    """An upgraded database: the ledger recorded the token as ``governance.pipelinetoken``, as it was then."""
    use_case = UseCase.objects.create(
        name="Support assistant",
        slug="support-assistant",
        business_objective="Answer",
        owner=author,
        regulated_domain=RegulatedDomain.BANKING,
        eu_ai_act_risk_tier=EuAiActRiskTier.HIGH,
        internal_risk_tier=InternalRiskTier.TIER_2,
    )
    token = pipeline_token_create(
        service_account_name="training", name="CI", use_cases=[use_case], actor_name="system:test"
    ).token
    with triggers_lifted(LedgerEntry._meta.db_table) as cursor:
        cursor.execute(
            f"UPDATE {LedgerEntry._meta.db_table} SET object_type = %s WHERE object_type = %s",  # noqa: S608
            ["governance.pipelinetoken", "accounts.pipelinetoken"],
        )

    findings = state_replay.ledger_state_replay().findings

    assert LedgerEntry.objects.filter(object_type="governance.pipelinetoken", object_id=str(token.pk)).exists()
    assert [finding for finding in findings if finding.object_type == "accounts.pipelinetoken"] == []
