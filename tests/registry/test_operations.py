"""Running models: rollback, the kill switch, incidents, monitoring, model cards and impact analysis."""

import datetime
import json
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from audit.ledger import ActionDenied
from governance.models import RetrainingCadence
from governance.services.overrides import break_glass_override
from lineage.services import dataset_version_revoke
from registry.choices import DeploymentEventKind, Environment, IncidentSeverity, IncidentState
from registry.errors import GateBlocked
from registry.models import Deployment, Incident
from registry.selectors import impact_of_versions, model_versions_on_unapproved_data
from registry.services.deployments import deployment_kill_switch, deployment_rollback
from registry.services.incidents import (
    incident_close,
    incident_confirm,
    incident_dismiss,
    incident_open,
    incident_resolve,
)
from registry.services.monitoring import monitoring_summary_record
from tests.registry.conftest import PASSWORD, ledger_of, version

pytestmark = pytest.mark.django_db


def two_versions_in_prod(world):
    first, second = world.model(), world.model()
    world.promote(first, Environment.PROD)
    world.promote(second, Environment.PROD)
    return first, second, Deployment.objects.get(use_case=world.use_case, environment=Environment.PROD)


def test_rollback_restores_the_previous_stable_version_and_links_an_incident(world):
    first, second, prod = two_versions_in_prod(world)
    assert (prod.current_version, prod.previous_stable_version) == (second, first)

    event = deployment_rollback(deployment=prod, actor=world["risk"], reason="Card fragments echoed back")

    prod.refresh_from_db()
    assert prod.current_version == first
    assert (event.kind, event.model_version, event.replaced_version) == (DeploymentEventKind.ROLLBACK, first, second)
    incident = event.incident
    assert incident.state == IncidentState.CONTAINED
    assert incident.containment == ["rollback"]
    assert incident.model_version == second
    rollback_entry = ledger_of(prod)[-1].payload["deployment_event"]
    assert rollback_entry["kind"] == "rollback"
    assert rollback_entry["incident"] == incident.identifier


def test_rollback_links_the_incident_it_is_given(world):
    _first, second, prod = two_versions_in_prod(world)
    incident = incident_open(
        use_case=world.use_case,
        actor=world["risk"],
        title="Complaint about a wrong refund period",
        description="Three complaints today.",
        severity=IncidentSeverity.SEV3,
        source="complaint",
        model_version=second,
    )
    event = deployment_rollback(deployment=prod, actor=world["risk"], reason="Complaints", incident=incident)
    assert event.incident == incident
    assert Incident.objects.count() == 1


def test_a_rollback_is_not_linked_to_an_incident_already_closed(world):
    _first, second, prod = two_versions_in_prod(world)
    incident = incident_open(
        use_case=world.use_case,
        actor=world["risk"],
        title="Old complaint",
        description="Handled last week.",
        severity=IncidentSeverity.SEV4,
        source="complaint",
    )
    close(world, incident)
    with pytest.raises(ValidationError, match="link an open incident"):
        deployment_rollback(deployment=prod, actor=world["risk"], reason="Complaints", incident=incident)
    prod.refresh_from_db()
    assert prod.current_version == second


def close(world, incident):
    incident_resolve(
        incident=incident, actor=world["risk"], root_cause_kind="other", root_cause_summary="A misunderstanding."
    )
    incident_close(incident=incident, actor=world["risk"])


@pytest.mark.parametrize("username", ["mleng", "cab", "auditor", "admin"])
def test_only_a_risk_officer_rolls_back(world, username):
    _first, second, prod = two_versions_in_prod(world)
    with pytest.raises(ActionDenied):
        deployment_rollback(deployment=prod, actor=world[username], reason="Trying")
    prod.refresh_from_db()
    assert prod.current_version == second


def test_there_is_nothing_to_roll_back_to_after_a_first_deployment(world):
    model = world.model()
    world.promote(model, Environment.PROD)
    prod = Deployment.objects.get(environment=Environment.PROD)
    with pytest.raises(ActionDenied, match="no previous stable version"):
        deployment_rollback(deployment=prod, actor=world["risk"], reason="Trying")
    with pytest.raises(ValidationError):
        deployment_rollback(deployment=prod, actor=world["risk"], reason="  ")


def test_rolling_back_to_a_version_whose_data_was_revoked_needs_break_glass(world):
    _first, _second, prod = two_versions_in_prod(world)
    dataset_version_revoke(version=version("support-chats@1"), actor=world["compliance"], reason="Erasure request")
    with pytest.raises(GateBlocked, match="needs a break-glass override"):
        deployment_rollback(deployment=prod, actor=world["risk"], reason="Leak")
    override = break_glass_override(
        record=prod,
        gate="rollback",
        justification="The current version leaks card data; the previous one is the lesser harm tonight.",
        requested_by=world["risk"],
        approver=world["risk2"],
        approver_password=PASSWORD,
    )
    event = deployment_rollback(deployment=prod, actor=world["risk"], reason="Leak", override=override)
    assert event.override == override


def test_the_kill_switch_is_engaged_on_an_incident_and_released_with_a_reason(world):
    model = world.model()
    world.promote(model, Environment.PROD)
    prod = Deployment.objects.get(environment=Environment.PROD)

    on = deployment_kill_switch(deployment=prod, actor=world["security"], engage=True, reason="Prompt injection")
    assert on.incident.severity == IncidentSeverity.SEV1
    assert "kill_switch" in on.incident.containment
    with pytest.raises(ActionDenied, match="already engaged"):
        deployment_kill_switch(deployment=prod, actor=world["risk"], engage=True, reason="again")
    with pytest.raises(ActionDenied):
        deployment_kill_switch(deployment=prod, actor=world["mleng"], engage=False, reason="not mine")
    deployment_kill_switch(deployment=prod, actor=world["risk"], engage=False, reason="Filter deployed")
    prod.refresh_from_db()
    assert not prod.kill_switch_engaged


def test_a_sev1_closes_only_with_a_post_incident_review_and_a_follow_up_retraining_flags_the_use_case(world):
    model = world.model()
    incident = incident_open(
        use_case=world.use_case,
        actor=world["security"],
        title="Jailbreak exposed internal notes",
        description="Red team found a prompt that prints agent notes.",
        severity=IncidentSeverity.SEV1,
        source="red_team",
        model_version=model,
    )
    with pytest.raises(ActionDenied, match="only a resolved incident"):
        incident_close(incident=incident, actor=world["risk"], post_incident_review="x" * 50)
    with pytest.raises(ValidationError) as missing:
        incident_resolve(
            incident=incident, actor=world["risk"], root_cause_kind="training_run", root_cause_summary="The run"
        )
    assert "root_cause_training_run" in missing.value.message_dict
    incident_resolve(
        incident=incident,
        actor=world["risk"],
        root_cause_kind="training_run",
        root_cause_summary="Agent notes were in the training chats.",
        training_run=model.training_run,
        followup_cases=list(world.suite.cases.all()[:1]),
        followup_retraining=True,
    )
    assert RetrainingCadence.objects.get(use_case=world.use_case).due_since is not None
    with pytest.raises(ValidationError, match="post-incident review"):
        incident_close(incident=incident, actor=world["risk"], post_incident_review="short")
    with pytest.raises(ActionDenied):
        incident_close(incident=incident, actor=world["mleng"], post_incident_review="x" * 50)
    closed = incident_close(
        incident=incident,
        actor=world["risk"],
        post_incident_review="Notes are stripped at extraction now; two new red-team cases guard it.",
    )
    assert closed.state == IncidentState.CLOSED
    assert closed.closed_at is not None


def test_monitoring_above_a_threshold_raises_a_draft_incident_that_a_person_confirms_or_dismisses(world):
    model = world.model()
    world.promote(model, Environment.PROD)
    prod = Deployment.objects.get(environment=Environment.PROD)
    now = timezone.now()
    rates = {"refusal_rate": "3", "escalation_rate": "9", "human_override_rate": "1"}

    quiet = monitoring_summary_record(
        deployment=prod,
        actor=world["mleng"],
        period_start=now - datetime.timedelta(days=2),
        period_end=now - datetime.timedelta(days=1),
        volume=1000,
        policy_violation_rate="0.5",
        **rates,
    )
    assert (quiet.alerts, quiet.incident) == ([], None)
    loud = monitoring_summary_record(
        deployment=prod,
        actor=world["mleng"],
        period_start=now - datetime.timedelta(days=1),
        period_end=now,
        volume=1000,
        policy_violation_rate="2.5",
        **rates,
    )
    assert loud.alerts == ["policy-violation rate 2.50% is above the alert threshold of 1.00%"]
    draft = loud.incident
    assert (draft.state, draft.source, draft.model_version) == (IncidentState.DRAFT, "monitoring_alert", model)
    confirmed = incident_confirm(incident=draft, actor=world["risk"], severity=IncidentSeverity.SEV2)
    assert (confirmed.state, confirmed.severity) == (IncidentState.OPEN, IncidentSeverity.SEV2)
    with pytest.raises(ActionDenied, match="only a draft"):
        incident_dismiss(incident=confirmed, actor=world["risk"], reason="false alarm")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("policy_violation_rate", "101", "between 0 and 100"),
        ("refusal_rate", "abc", "not a number"),
        ("volume", -1, "whole number"),
    ],
)
def test_malformed_monitoring_summaries_are_refused(world, field, value, message):
    model = world.model()
    world.promote(model, Environment.DEV)
    dev = Deployment.objects.get(environment=Environment.DEV)
    values = {
        "period_start": timezone.now() - datetime.timedelta(hours=1),
        "period_end": timezone.now(),
        "volume": 10,
        "policy_violation_rate": "0",
        "refusal_rate": "0",
        "escalation_rate": "0",
        "human_override_rate": "0",
        field: value,
    }
    with pytest.raises(ValidationError, match=message):
        monitoring_summary_record(deployment=dev, actor=world["mleng"], **values)


def test_a_model_card_generates_its_facts_and_says_what_changed_since_the_previous_card(world):
    first, second = world.model(), world.model()
    world.gate(first)
    card_one = world.card(first)
    assert card_one.generated["model_details"]["identifier"] == "support-assistant:1"
    assert card_one.generated["training_data"][0]["dataset_version"] == "support-chats@1"
    assert card_one.generated["evaluation"]["outcome"] == "pass"
    assert card_one.changes == {}

    card_two = world.card(second, known_risks="Longer context; watch pasted card data.")
    assert card_two.changes["known_risks"]["after"] == "Longer context; watch pasted card data."
    assert "model_details" in card_two.changes
    revised = world.card(second, escalation_paths="")
    assert revised.revision == 2
    assert revised.missing_sections() == ["escalation paths"]


def test_revoking_a_dataset_flags_the_models_and_live_deployments_it_reached(world):
    model = world.model()
    other = world.model(datasets=("wealth-faq@2",), name="wealth-advisor")
    world.promote(model, Environment.TEST)
    assert not model_versions_on_unapproved_data().exists()

    dataset_version_revoke(version=version("support-chats@1"), actor=world["compliance"], reason="Erasure request")

    assert list(model_versions_on_unapproved_data()) == [model]
    impact = impact_of_versions([version("support-chats@1").pk])
    assert impact.model_versions == [model]
    assert {d.environment for d in impact.live_deployments} == {"dev", "test"}
    assert other not in impact.model_versions


def test_impact_analysis_from_a_source_or_a_dataset_version(world):
    model = world.model()
    world.promote(model, Environment.DEV)
    out = StringIO()
    call_command("impact_analysis", "--source", "Salesforce CRM", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert "support-chats@1 [approved]" in report["dataset_versions"]
    assert report["model_versions"] == ["support-assistant:1"]
    assert report["live_deployments"] == ["Customer-support billing assistant / dev: support-assistant:1"]
    out = StringIO()
    call_command("impact_analysis", "--dataset-version", "support-chats@1", stdout=out)
    assert "support-assistant:1" in out.getvalue()
    with pytest.raises(Exception, match="No source system"):
        call_command("impact_analysis", "--source", "Nowhere")
