"""Production monitoring far from what validation measured, and a model card's "what changed" that the recorded
differences contradict, are raised as flags with both records, once, within their tolerances not at all, and
when the records change (a summary posted, a card saved) as well as nightly."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from governance.choices import EvaluationDimension
from registry.choices import Environment, ProvenanceFlagKind, ProvenanceFlagSeverity
from registry.models import Deployment, ProvenanceFlag
from registry.services.monitoring import monitoring_summary_record
from registry.services.promotion import promotion_problems
from registry.services.provenance import provenance_flags_refresh
from registry.services.training import model_version_register, training_run_complete
from registry.tasks import check_provenance
from tests.registry.conftest import sha
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db

COMPLIANCE = EvaluationDimension.POLICY_COMPLIANCE
QUIET = {"escalation_rate": "1.0", "human_override_rate": "0.5"}
# build_suite: 8 cases of 10 answers each, one case expecting a refusal: validation saw 12.5% refusals.
VALIDATED_REFUSALS = "12.5"


def model(world, *, datasets=("support-chats@1",)):
    run = world.run(datasets=datasets)
    run = training_run_complete(run=run, actor=world["mleng"], output_weights_digest=sha(run.run_id), metrics={})
    return model_version_register(run=run, actor=world["mleng"], name="support-assistant")


@pytest.fixture
def served(world):
    """A version in dev whose validation failed 1 in 10 policy-compliance answers (10% violations)."""
    version = model(world)
    world.gate(version, rates={COMPLIANCE: (9, 10)})
    world.promote(version, Environment.DEV)
    return version


def summary(world, version, *, violations: str, refusals: str = VALIDATED_REFUSALS, volume: int = 1000, days=1):
    deployment = Deployment.objects.get(current_version=version, environment=Environment.DEV)
    end = timezone.now() - datetime.timedelta(days=days - 1)
    return monitoring_summary_record(
        deployment=deployment,
        actor=world["mleng"],
        period_start=end - datetime.timedelta(days=1),
        period_end=end,
        volume=volume,
        policy_violation_rate=violations,
        refusal_rate=refusals,
        **QUIET,
    )


def test_a_production_violation_rate_far_from_the_validated_one_raises_a_high_flag_with_both_records(
    world, served
) -> None:
    posted = summary(world, served, violations="35.0")

    [flag] = provenance_flags_refresh(model_version=served)

    assert (flag.kind, flag.severity) == (ProvenanceFlagKind.MONITORING_DIVERGES, ProvenanceFlagSeverity.HIGH)
    assert "policy-violation rate of 35.00%" in flag.summary
    assert "measured 10.00%" in flag.summary
    gate = served.gate_decisions.get()
    assert flag.evidence == {
        "rate": "policy_violation_rate",
        "production": "35.00",
        "validated": "10.00",
        "tolerance": "10",
        "volume": 1000,
        "records": [
            {"type": "registry.monitoringsummary", "id": posted.pk, "label": str(posted)},
            {"type": "registry.gatedecision", "id": gate.pk, "label": str(gate)},
        ],
    }
    assert provenance_flags_refresh(model_version=served) == []  # raised once
    assert any("Provenance flag unresolved (high)" in p for p in promotion_problems(served, Environment.PROD))


def test_rates_within_the_tolerance_fewer_refusals_and_small_periods_raise_nothing(world, served, settings) -> None:
    summary(world, served, violations="19.5", refusals="22.0", days=3)  # 9.5 points above 10% and 12.5%
    summary(world, served, violations="90.0", refusals="90.0", volume=199, days=1)  # too few conversations

    assert provenance_flags_refresh(model_version=served) == []
    settings.PROVENANCE_MONITORING_TOLERANCE = "5"
    raised = provenance_flags_refresh(model_version=served)
    assert sorted(flag.evidence["rate"] for flag in raised) == ["policy_violation_rate", "refusal_rate"]


def test_fewer_refusals_than_the_suite_saw_is_what_ordinary_traffic_predicts(world, served) -> None:
    summary(world, served, violations="10.0", refusals="0.5")  # 12 points below the validated 12.5%

    assert provenance_flags_refresh(model_version=served) == []


def test_a_refusal_rate_far_from_the_validated_one_is_flagged(world, served) -> None:
    summary(world, served, violations="10.0", refusals="40.0")

    [flag] = provenance_flags_refresh(model_version=served)

    assert flag.evidence["rate"] == "refusal_rate"
    assert (flag.evidence["production"], flag.evidence["validated"]) == ("40.00", "12.50")


def test_a_posted_summary_runs_the_checks_once_committed(world, served, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        summary(world, served, violations="60.0")

    assert served.flags.get().kind == ProvenanceFlagKind.MONITORING_DIVERGES


def test_without_a_gate_decision_monitoring_is_compared_with_nothing(world) -> None:
    version = model(world)
    world.promote(version, Environment.DEV)
    summary(world, version, violations="60.0")

    assert provenance_flags_refresh(model_version=version) == []


# -- the model card's "what changed" --------------------------------------------------------------------------


@pytest.fixture
def added_wealth(world):
    """support-assistant:2 adds wealth-faq@2 to the support chats support-assistant:1 was trained on."""
    before = model(world)
    after = model(world, datasets=("support-chats@1", "wealth-faq@2"))
    return before, after


def test_a_card_saying_the_data_did_not_change_while_a_dataset_was_added_is_flagged(world, added_wealth) -> None:
    before, after = added_wealth
    card = world.card(after, what_changed="No data changes; the learning rate went down to 1e-4.")

    [flag] = provenance_flags_refresh(model_version=after)

    assert (flag.kind, flag.severity) == (
        ProvenanceFlagKind.CARD_CONTRADICTS_DIFFERENCES,
        ProvenanceFlagSeverity.MEDIUM,
    )
    assert flag.other_model_version == before
    assert "says “No data”" in flag.summary
    assert "wealth-faq added" in flag.summary
    assert flag.evidence["recorded_data_changes"] == ["wealth-faq added"]
    assert flag.evidence["records"] == [
        {"type": "registry.modelcard", "id": card.pk, "label": str(card)},
        {"type": "registry.modelversion", "id": before.pk, "label": str(before)},
    ]


def test_a_card_naming_a_dataset_that_did_not_change_is_flagged_and_an_accurate_card_is_not(
    world, added_wealth
) -> None:
    _before, after = added_wealth
    world.card(after, what_changed="Added wealth-faq@2 for wealth questions.")
    assert provenance_flags_refresh(model_version=after) == []

    world.card(after, what_changed="Added wealth-faq and a fresh extract of support-chats.")
    [flag] = provenance_flags_refresh(model_version=after)

    assert flag.subject == "dataset support-chats"
    assert "names support-chats among what changed" in flag.summary


def test_a_first_version_or_a_card_without_what_changed_is_not_checked(world, added_wealth) -> None:
    before, after = added_wealth
    world.card(before, what_changed="No data changes.")
    world.card(after)

    assert provenance_flags_refresh(model_version=before) == []
    assert provenance_flags_refresh(model_version=after) == []


def test_saving_a_card_runs_the_checks_once_committed(world, added_wealth, django_capture_on_commit_callbacks):
    _before, after = added_wealth
    with django_capture_on_commit_callbacks(execute=True):
        world.card(after, what_changed="Training data unchanged.")

    assert after.flags.get().kind == ProvenanceFlagKind.CARD_CONTRADICTS_DIFFERENCES


def test_the_nightly_task_raises_the_new_kinds_too(world, served, added_wealth) -> None:
    summary(world, served, violations="60.0")
    world.card(added_wealth[1], what_changed="Same training data as before.")

    assert check_provenance() == 2
    assert check_provenance() == 0


def test_the_flag_page_links_to_both_records(client, world, served) -> None:
    posted = summary(world, served, violations="35.0")
    [flag] = provenance_flags_refresh(model_version=served)
    login_verified(client, world["auditor"])

    page = client.get(reverse("admin:registry_provenanceflag_change", args=[flag.pk])).content.decode()

    assert reverse("admin:registry_monitoringsummary_change", args=[posted.pk]) in page
    gate = served.gate_decisions.get()
    assert reverse("admin:registry_gatedecision_change", args=[gate.pk]) in page
    assert ProvenanceFlag.objects.filter(model_version=served).count() == 1
