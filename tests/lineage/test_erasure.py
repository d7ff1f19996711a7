"""Erasure requests, revocation and retirement: the impact report on a branching graph, and nothing deleted."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from accounts.choices import Role
from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from audit.models import LedgerEntry
from lineage.choices import DatasetVersionState, ErasureKind, ErasureState, LegalBasis, SourceStatus
from lineage.models import DatasetVersion
from lineage.services import (
    dataset_create,
    dataset_version_retire,
    dataset_version_review_approve,
    dataset_version_revoke,
    dataset_version_submit,
    erasure_request_create,
    erasure_request_process,
    lineage_edge_add,
    lineage_source_add,
)
from tests.governance.conftest import PASSWORD
from tests.lineage.conftest import new_version, register_source

pytestmark = pytest.mark.django_db

FEB = (datetime.date(2026, 2, 1), datetime.date(2026, 2, 28))


@pytest.fixture
def reviewers(user_in_role) -> list:
    return [
        user_in_role(Role.LEGAL_REVIEWER, username="legal-reviewer"),
        user_in_role(Role.SECURITY_REVIEWER, username="security-reviewer"),
        user_in_role(Role.COMPLIANCE_REVIEWER, username="compliance-reviewer"),
    ]


def approve(version: DatasetVersion, engineer, reviewers) -> DatasetVersion:
    version = dataset_version_submit(version=version, actor=engineer)
    for reviewer in reviewers:
        version = dataset_version_review_approve(version=version, reviewer=reviewer, password=PASSWORD)
    assert version.state == DatasetVersionState.APPROVED
    return version


def drawn_from(dataset, engineer, source, start, end) -> DatasetVersion:
    version = new_version(dataset, engineer)
    lineage_source_add(
        version=version,
        actor=engineer,
        source_system=source,
        legal_basis=LegalBasis.CONTRACT,
        period_start=start,
        period_end=end,
    )
    return version


def derived_from(dataset, engineer, *parents) -> DatasetVersion:
    version = new_version(dataset, engineer)
    for parent in parents:
        lineage_edge_add(child=version, parent=parent, actor=engineer)
    return version


@pytest.fixture
def graph(steward, engineer, reviewers) -> dict[str, DatasetVersion]:
    """a (CRM, Jan-Mar) -> c; a and b -> d (a draft); b (CRM, Jun-Aug) -> e; f from ticketing."""
    crm = register_source(steward, "CRM")
    tickets = register_source(steward, "Ticketing")
    raw = dataset_create(actor=steward, slug="support-chats", name="Support chats", steward=steward)
    clean = dataset_create(actor=steward, slug="redacted-chats", name="Redacted chats", steward=steward)
    a = approve(
        drawn_from(raw, engineer, crm, datetime.date(2026, 1, 1), datetime.date(2026, 3, 31)), engineer, reviewers
    )
    b = approve(
        drawn_from(raw, engineer, crm, datetime.date(2026, 6, 1), datetime.date(2026, 8, 31)), engineer, reviewers
    )
    c = approve(derived_from(clean, engineer, a), engineer, reviewers)
    d = derived_from(clean, engineer, a, b)
    e = approve(derived_from(clean, engineer, b), engineer, reviewers)
    f = approve(drawn_from(raw, engineer, tickets, *FEB), engineer, reviewers)
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f, "crm": crm}


def state(version: DatasetVersion) -> str:
    version.refresh_from_db()
    return version.state


def test_a_subjects_erasure_revokes_what_holds_their_period_and_flags_derived_work_in_progress(
    graph, user_in_role
) -> None:
    compliance = user_in_role(Role.COMPLIANCE_REVIEWER, username="dpo")
    request = erasure_request_create(
        actor=compliance,
        kind=ErasureKind.DATA_SUBJECT,
        reference="DSR-2026-0042",
        source_systems=[graph["crm"]],
        reason="Art. 17 request received by the DPO.",
        period_start=FEB[0],
        period_end=FEB[1],
    )
    entries_before = LedgerEntry.objects.count()

    processed = erasure_request_process(request=request, actor=compliance)

    assert processed.state == ErasureState.PROCESSED
    assert processed.impact_report == {
        "direct": ["support-chats@1"],
        "derived": ["redacted-chats@1", "redacted-chats@2"],
        "revoked": ["redacted-chats@1", "support-chats@1"],
        "flagged_in_progress": ["redacted-chats@2"],
        "already_out_of_use": [],
        "use_cases": [],
    }
    assert [state(graph[key]) for key in "abcdef"] == [
        DatasetVersionState.REVOKED,
        DatasetVersionState.APPROVED,
        DatasetVersionState.REVOKED,
        DatasetVersionState.DRAFT,
        DatasetVersionState.APPROVED,
        DatasetVersionState.APPROVED,
    ]
    assert LedgerEntry.objects.count() > entries_before  # appended to, never rewritten
    assert DatasetVersion.objects.count() == 6


def test_decommissioning_a_source_revokes_everything_drawn_from_it_and_retires_the_source(graph, user_in_role) -> None:
    compliance = user_in_role(Role.COMPLIANCE_REVIEWER, username="dpo")
    request = erasure_request_create(
        actor=compliance,
        kind=ErasureKind.SOURCE_DECOMMISSIONING,
        reference="CHG-981",
        source_systems=[graph["crm"]],
        reason="CRM replaced.",
    )

    report = erasure_request_process(request=request, actor=compliance).impact_report

    assert report["direct"] == ["support-chats@1", "support-chats@2"]
    assert report["derived"] == ["redacted-chats@1", "redacted-chats@2", "redacted-chats@3"]
    graph["crm"].refresh_from_db()
    assert graph["crm"].status == SourceStatus.DECOMMISSIONED
    assert state(graph["f"]) == DatasetVersionState.APPROVED


def test_a_request_is_processed_once(graph, user_in_role) -> None:
    compliance = user_in_role(Role.COMPLIANCE_REVIEWER, username="dpo")
    request = erasure_request_create(
        actor=compliance,
        kind=ErasureKind.RETENTION_CHANGE,
        reference="RET-1",
        source_systems=[graph["crm"]],
        reason="x",
    )
    erasure_request_process(request=request, actor=compliance)

    with pytest.raises(ActionDenied, match="processed already"):
        erasure_request_process(request=request, actor=compliance)


def test_erasure_requests_need_sources_and_a_sane_period(user_in_role, steward) -> None:
    compliance = user_in_role(Role.COMPLIANCE_REVIEWER, username="dpo")
    crm = register_source(steward, "CRM")

    with pytest.raises(ValidationError, match="Name the source systems"):
        erasure_request_create(
            actor=compliance, kind=ErasureKind.DATA_SUBJECT, reference="r", source_systems=[], reason="x"
        )
    with pytest.raises(ValidationError, match="ends before it starts"):
        erasure_request_create(
            actor=compliance,
            kind=ErasureKind.DATA_SUBJECT,
            reference="r",
            source_systems=[crm],
            reason="x",
            period_start=FEB[1],
            period_end=FEB[0],
        )


def test_an_ml_engineer_cannot_file_or_process_erasure_requests(user_in_role, engineer, steward) -> None:
    crm = register_source(steward, "CRM")

    with pytest.raises(ActionDenied):
        erasure_request_create(
            actor=engineer, kind=ErasureKind.DATA_SUBJECT, reference="r", source_systems=[crm], reason="x"
        )


def test_revoking_needs_a_reason_the_right_role_and_an_approved_version(graph, engineer, user_in_role) -> None:
    compliance = user_in_role(Role.COMPLIANCE_REVIEWER, username="dpo")

    with pytest.raises(ValidationError):
        dataset_version_revoke(version=graph["f"], actor=compliance, reason=" ")
    with pytest.raises(ActionDenied):
        dataset_version_revoke(version=graph["f"], actor=engineer, reason="not mine to revoke")
    with pytest.raises(ActionDenied, match="only an approved version"):
        dataset_version_revoke(version=graph["d"], actor=compliance, reason="draft")

    revoked = dataset_version_revoke(version=graph["f"], actor=compliance, reason="Legal hold lifted")
    retired = dataset_version_retire(version=revoked, actor=compliance)

    assert retired.state == DatasetVersionState.RETIRED
    transitions = LedgerEntry.objects.filter(
        action=LedgerAction.TRANSITION, object_type="lineage.datasetversion", object_id=str(graph["f"].pk)
    ).order_by("sequence")
    assert [entry.payload["transition"] for entry in transitions][-2:] == ["revoke", "retire"]
