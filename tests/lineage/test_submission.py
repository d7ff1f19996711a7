"""Submitting a draft version to Legal review: every gap in its lineage is named so the author can fix it, the
version stays a draft until none is left, and only a role that authors lineage may submit."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.audit_context import acting_as
from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from lineage.choices import Article9Condition, DatasetVersionState, LegalBasis, SourceStatus
from lineage.models import DatasetVersion
from lineage.selectors import submission_problems
from lineage.services import dataset_version_submit, lineage_edge_add, lineage_record_update, lineage_source_add
from tests.lineage.conftest import ledger_of, new_version, register_source, sourced_version

pytestmark = pytest.mark.django_db


def problems(version) -> list[str]:
    """The problems of the version as stored now (``version.lineage`` may be cached on the object)."""
    return submission_problems(DatasetVersion.objects.get(pk=version.pk))


def refused_with(version, actor, problem: str) -> None:
    """Submitting is refused, with ``problem`` among the reasons, and the version stays a draft."""
    assert problem in problems(version)
    with pytest.raises(ValidationError) as raised:
        dataset_version_submit(version=version, actor=actor)
    assert problem in raised.value.messages
    version.refresh_from_db()
    assert (version.state, version.submitted_by, version.submitted_at) == (DatasetVersionState.DRAFT, None, None)
    assert not [e for e in ledger_of(version) if e.action == LedgerAction.TRANSITION]


def test_a_version_needs_a_source_or_a_parent(engineer, support_chats) -> None:
    version = new_version(support_chats, engineer)

    refused_with(version, engineer, "Name at least one source system or parent dataset version.")


def test_a_parent_version_is_enough_provenance(engineer, support_chats, redacted_chats, crm) -> None:
    parent = sourced_version(support_chats, engineer, crm)
    child = new_version(redacted_chats, engineer)
    lineage_edge_add(child=child, parent=parent, actor=engineer)

    assert problems(child) == []
    assert dataset_version_submit(version=child, actor=engineer).state == DatasetVersionState.LEGAL_REVIEW


def test_consent_as_the_legal_basis_needs_the_consent_scope(engineer, support_chats, crm) -> None:
    version = new_version(support_chats, engineer)
    lineage_source_add(version=version, actor=engineer, source_system=crm, legal_basis=LegalBasis.CONSENT)

    refused_with(version, engineer, "CRM: consent is the legal basis, so state the consent scope.")

    lineage_record_update(version=version, actor=engineer, consent_scope="   ")
    refused_with(version, engineer, "CRM: consent is the legal basis, so state the consent scope.")

    lineage_record_update(version=version, actor=engineer, consent_scope="Service improvement, opted in at signup")
    assert problems(version) == []


def test_special_category_data_needs_an_article_9_condition(engineer, support_chats, crm) -> None:
    version = new_version(support_chats, engineer, dpia_reference="DPIA-2025-014")
    lineage_source_add(
        version=version, actor=engineer, source_system=crm, legal_basis=LegalBasis.CONTRACT, special_category=True
    )

    refused_with(version, engineer, "CRM: special-category data needs an Art. 9 condition.")
    assert problems(version) == ["CRM: special-category data needs an Art. 9 condition."]


def test_special_category_data_needs_a_dpia_reference(engineer, support_chats, crm) -> None:
    version = new_version(support_chats, engineer)
    lineage_source_add(
        version=version,
        actor=engineer,
        source_system=crm,
        legal_basis=LegalBasis.CONTRACT,
        special_category=True,
        article9_condition=Article9Condition.HEALTH_CARE,
    )

    refused_with(version, engineer, "CRM: special-category data needs a DPIA reference.")
    assert problems(version) == ["CRM: special-category data needs a DPIA reference."]

    lineage_record_update(version=version, actor=engineer, dpia_reference="DPIA-2025-014")
    assert problems(version) == []


def test_restricted_data_needs_privacy_controls(engineer, support_chats, crm) -> None:
    version = sourced_version(support_chats, engineer, crm, sensitivity="restricted")

    refused_with(
        version, engineer, "Restricted data needs the privacy controls applied (redaction, pseudonymisation, ...)."
    )

    lineage_record_update(version=version, actor=engineer, privacy_controls=["pseudonymisation"])
    assert problems(version) == []


def test_the_retention_period_must_be_set(engineer, support_chats, crm) -> None:
    version = sourced_version(support_chats, engineer, crm, retention_days=None)

    refused_with(version, engineer, "Set the retention period.")
    assert problems(version) == ["Set the retention period."]


def test_data_from_a_decommissioned_source_cannot_be_submitted(steward, engineer, support_chats) -> None:
    crm = register_source(steward)
    version = sourced_version(support_chats, engineer, crm)
    with acting_as(steward):
        crm.status = SourceStatus.DECOMMISSIONED
        crm.decommissioned_at = timezone.now()
        crm.save()

    refused_with(version, engineer, "CRM is decommissioned.")
    assert problems(version) == ["CRM is decommissioned."]


def test_no_new_version_may_draw_from_a_decommissioned_source(steward, engineer, support_chats) -> None:
    crm = register_source(steward)
    with acting_as(steward):
        crm.status = SourceStatus.DECOMMISSIONED
        crm.save()
    version = new_version(support_chats, engineer)

    with pytest.raises(ValidationError) as raised:
        lineage_source_add(version=version, actor=engineer, source_system=crm, legal_basis=LegalBasis.CONTRACT)

    assert raised.value.message_dict["source_system"] == ["CRM is decommissioned; no new data may come from it."]
    assert not version.lineage.sources.exists()


def test_every_problem_is_reported_at_once(engineer, support_chats, crm) -> None:
    version = new_version(support_chats, engineer, sensitivity="restricted", retention_days=None)
    lineage_source_add(
        version=version, actor=engineer, source_system=crm, legal_basis=LegalBasis.CONSENT, special_category=True
    )

    with pytest.raises(ValidationError) as raised:
        dataset_version_submit(version=version, actor=engineer)

    assert raised.value.messages == [
        "CRM: consent is the legal basis, so state the consent scope.",
        "CRM: special-category data needs an Art. 9 condition.",
        "CRM: special-category data needs a DPIA reference.",
        "Restricted data needs the privacy controls applied (redaction, pseudonymisation, ...).",
        "Set the retention period.",
    ]


def test_a_compliant_version_goes_to_legal_review(engineer, support_chats, crm) -> None:
    version = sourced_version(support_chats, engineer, crm)
    before = timezone.now()

    submitted = dataset_version_submit(version=version, actor=engineer)

    version.refresh_from_db()
    assert submitted.state == version.state == DatasetVersionState.LEGAL_REVIEW
    assert version.submitted_by == engineer
    assert before <= version.submitted_at <= timezone.now()
    transitions = [e for e in ledger_of(version) if e.action == LedgerAction.TRANSITION]
    assert len(transitions) == 1
    assert transitions[0].actor == engineer
    assert (transitions[0].payload["source"], transitions[0].payload["target"]) == ("draft", "legal_review")


def test_a_data_steward_may_submit_too(steward, engineer, support_chats, crm) -> None:
    version = sourced_version(support_chats, engineer, crm)

    assert dataset_version_submit(version=version, actor=steward).submitted_by == steward


def test_a_legal_reviewer_cannot_submit(engineer, legal, support_chats, crm) -> None:
    version = sourced_version(support_chats, engineer, crm)

    with pytest.raises(ActionDenied, match="Your roles do not allow this"):
        dataset_version_submit(version=version, actor=legal)

    version.refresh_from_db()
    assert (version.state, version.submitted_by) == (DatasetVersionState.DRAFT, None)
    denial = ledger_of(version)[-1]
    assert (denial.action, denial.actor, denial.payload["attempted"]) == (
        LedgerAction.DENIED,
        legal,
        "dataset_version_submit",
    )
