"""Contradictions between provenance records are raised as flags with their evidence, once; a Risk Officer
resolves one with a note, a second confirms a high one; an unresolved high flag blocks production."""

import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from audit.ledger import ActionDenied
from audit.models import LedgerEntry
from governance.choices import EvaluationDimension
from registry.choices import Environment, ProvenanceFlagKind, ProvenanceFlagSeverity, ProvenanceFlagState
from registry.models import ProvenanceFlag
from registry.services.promotion import promotion_problems
from registry.services.provenance import provenance_flag_resolve, provenance_flags_refresh
from registry.services.training import model_version_register, training_run_complete
from registry.tasks import check_provenance
from tests.registry.conftest import sha
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db

BIAS = EvaluationDimension.BIAS_FAIRNESS
NOTE = "The run's figure came from a held-out set of another locale; the validation figure stands."


def model(world, *, metrics=None, weights=None, datasets=("support-chats@1",), **run_values):
    run = world.run(datasets=datasets, **run_values)
    run = training_run_complete(
        run=run, actor=world["mleng"], output_weights_digest=weights or sha(run.run_id), metrics=metrics or {}
    )
    return model_version_register(run=run, actor=world["mleng"], name="support-assistant")


@pytest.fixture
def contradicted(world):
    """A version whose run claims 99% on bias & fairness where validation measured 90%."""
    version = model(world, metrics={f"{BIAS}_pass_rate": 99.0, "eval_loss": 0.9})
    world.gate(version, rates={BIAS: (9, 10)})
    return version


def test_a_self_reported_metric_the_validation_contradicts_raises_a_high_flag_once(contradicted) -> None:
    raised = provenance_flags_refresh(model_version=contradicted)

    assert [(flag.kind, flag.severity, flag.subject) for flag in raised] == [
        (ProvenanceFlagKind.METRIC_CONTRADICTED, ProvenanceFlagSeverity.HIGH, BIAS)
    ]
    assert "reports 99.0% on Bias" in raised[0].summary
    evidence = dict(raised[0].evidence)
    records = evidence.pop("records")
    assert evidence == {"self_reported": "99.0", "validated": "90.00", "tolerance": "2.0"}
    gate = contradicted.gate_decisions.get()
    assert [(r["type"], r["id"]) for r in records] == [
        ("registry.trainingrun", contradicted.training_run_id),
        ("registry.gatedecision", gate.pk),
    ], "both records compared, for the flag's page to link to"
    assert provenance_flags_refresh(model_version=contradicted) == []  # raised once
    assert LedgerEntry.objects.filter(object_type="registry.provenanceflag", object_id=str(raised[0].pk)).exists()


def test_an_unresolved_high_flag_blocks_production_until_two_people_resolve_it(world, contradicted) -> None:
    [flag] = provenance_flags_refresh(model_version=contradicted)
    assert any("Provenance flag unresolved (high)" in p for p in promotion_problems(contradicted, Environment.PROD))
    assert not any("Provenance flag" in p for p in promotion_problems(contradicted, Environment.STAGING))

    proposed = provenance_flag_resolve(flag=flag, actor=world["risk"], note=NOTE)
    assert proposed.state == ProvenanceFlagState.RESOLUTION_PROPOSED
    with pytest.raises(ActionDenied, match="you proposed it"):
        provenance_flag_resolve(flag=flag, actor=world["risk"], note=NOTE)
    assert any("Provenance flag" in p for p in promotion_problems(contradicted, Environment.PROD))
    resolved = provenance_flag_resolve(flag=flag, actor=world["risk2"], note="Checked the locale split; agreed.")

    assert resolved.state == ProvenanceFlagState.RESOLVED
    assert (resolved.proposed_by, resolved.resolved_by) == (world["risk"], world["risk2"])
    assert not any("Provenance flag" in p for p in promotion_problems(contradicted, Environment.PROD))
    with pytest.raises(ActionDenied, match="already resolved"):
        provenance_flag_resolve(flag=flag, actor=world["risk"], note=NOTE)


def test_only_a_risk_officer_resolves_and_only_with_a_note(world, contradicted) -> None:
    [flag] = provenance_flags_refresh(model_version=contradicted)

    with pytest.raises(ActionDenied, match="Only a Risk Officer"):
        provenance_flag_resolve(flag=flag, actor=world["mleng"], note=NOTE)
    with pytest.raises(ValidationError, match="at least 20 characters"):
        provenance_flag_resolve(flag=flag, actor=world["risk"], note="fine")
    assert ProvenanceFlag.objects.get(pk=flag.pk).state == ProvenanceFlagState.OPEN


def test_a_regression_the_decision_log_does_not_explain_is_flagged_and_one_it_explains_is_not(world) -> None:
    before = model(world)
    world.gate(before)
    unexplained = model(world)
    world.gate(unexplained, rates={BIAS: (8, 10)})
    explained = model(world, decision_log="Bias & fairness dips on the new locale mix; accepted by the risk board.")
    world.gate(explained, rates={BIAS: (8, 10)})

    [flag] = provenance_flags_refresh(model_version=unexplained)
    assert (flag.kind, flag.severity) == (ProvenanceFlagKind.UNEXPLAINED_REGRESSION, ProvenanceFlagSeverity.MEDIUM)
    assert flag.other_model_version == before
    assert "fell from 100.00% in support-assistant:1 to 80.00%" in flag.summary
    assert [r["id"] for r in flag.evidence["records"]] == [before.pk, unexplained.pk]
    assert provenance_flags_refresh(model_version=explained) == []
    # A medium flag does not block production, and one person resolves it.
    assert not any("Provenance flag" in p for p in promotion_problems(unexplained, Environment.PROD))
    assert provenance_flag_resolve(flag=flag, actor=world["risk"], note=NOTE).state == ProvenanceFlagState.RESOLVED


def test_the_same_weights_claimed_by_runs_with_different_data_are_flagged(world) -> None:
    first = model(world, weights=sha("shared weights"))
    second = model(world, weights=sha("shared weights"), config={"lora": {"r": 64}, "epochs": 1})

    [flag] = provenance_flags_refresh(model_version=second)

    assert (flag.kind, flag.severity) == (ProvenanceFlagKind.WEIGHTS_REUSED, ProvenanceFlagSeverity.HIGH)
    assert flag.other_model_version == first
    assert "differ in configuration" in flag.summary
    assert [r["id"] for r in flag.evidence["records"]] == [second.training_run_id, first.training_run_id]


def test_the_command_lists_open_flags_and_fails_while_one_blocks_production(world, contradicted) -> None:
    out = io.StringIO()
    with pytest.raises(CommandError) as blocked:
        call_command("provenance_check", "--model-version", contradicted.identifier, "--json", stdout=out)

    assert blocked.value.returncode == 1
    document = json.loads(out.getvalue())
    assert document["blocks_production"] is True
    assert [flag["kind"] for flag in document["open_flags"]] == [ProvenanceFlagKind.METRIC_CONTRADICTED]
    clean = model(world)
    world.gate(clean)
    world.card(clean)  # every provenance fact recorded: nothing blocks production
    text = io.StringIO()
    call_command("provenance_check", "--model-version", clean.identifier, stdout=text)
    assert "no open provenance flag" in text.getvalue()
    with pytest.raises(CommandError, match="No model version 'nope:1'"):
        call_command("provenance_check", "--model-version", "nope:1", stdout=io.StringIO())


def test_the_nightly_task_checks_every_version(contradicted) -> None:
    assert check_provenance() == 1
    assert check_provenance() == 0


def test_a_risk_officer_resolves_a_flag_in_the_browser_and_others_are_refused(client, world, contradicted) -> None:
    [flag] = provenance_flags_refresh(model_version=contradicted)
    url = reverse("admin:registry_provenanceflag_resolve", args=[flag.pk])
    login_verified(client, world["auditor"])
    assert client.get(url).status_code == 403
    change = client.get(reverse("admin:registry_provenanceflag_change", args=[flag.pk]))
    assert change.status_code == 200
    assert url not in change.content.decode()

    client.logout()
    login_verified(client, world["risk"])
    assert url in client.get(reverse("admin:registry_provenanceflag_change", args=[flag.pk])).content.decode()
    empty = client.post(url, {"reason": ""})
    posted = client.post(url, {"reason": NOTE})

    assert empty.status_code == 400
    assert posted.status_code == 302
    assert ProvenanceFlag.objects.get(pk=flag.pk).state == ProvenanceFlagState.RESOLUTION_PROPOSED


def test_a_gate_decision_runs_the_checks_once_committed(world, django_capture_on_commit_callbacks) -> None:
    version = model(world, metrics={BIAS.value: 99.0})
    with django_capture_on_commit_callbacks(execute=True):
        world.gate(version, rates={BIAS: (9, 10)})

    assert version.flags.get().kind == ProvenanceFlagKind.METRIC_CONTRADICTED
