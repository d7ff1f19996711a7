"""Retraining comes due on schedule and on events: an incident's follow-up (see test_operations), an erasure
request, a source decommissioned, a policy changed. A new model version clears the flag."""

import pytest
from django.utils import timezone

from governance.choices import RetrainingTrigger
from governance.models import Policy, RetrainingCadence
from governance.services.policies import policy_save
from governance.services.retraining import retraining_cadence_set, retraining_completed
from lineage.choices import ErasureKind
from lineage.models import SourceSystem
from lineage.services import erasure_request_create, erasure_request_process

pytestmark = pytest.mark.django_db


@pytest.fixture
def cadence(world) -> RetrainingCadence:
    """The support assistant's cadence, listening for every event, with its flag cleared."""
    retraining_cadence_set(
        use_case=world.use_case, actor=world["risk"], schedule="quarterly", triggers=RetrainingTrigger.values
    )
    return retraining_completed(use_case=world.use_case, retrained_at=timezone.now(), actor_name="test")


def test_changing_a_policy_flags_the_use_cases_whose_requirements_it_governs(world, cadence):
    policy = Policy.objects.get(code="CC-17")
    policy_save(
        actor=world["compliance"], controls=policy.controls.all(), policy=policy, title=policy.title + " (2027)"
    )
    cadence.refresh_from_db()
    assert cadence.due_since is not None
    assert cadence.due_reason == "Policy change: CC-17 changed"


def test_decommissioning_a_source_flags_the_use_cases_its_data_reached_as_a_data_source_change(world, cadence):
    request = erasure_request_create(
        actor=world["steward"],
        kind=ErasureKind.SOURCE_DECOMMISSIONING,
        reference="DECOM-7",
        source_systems=[SourceSystem.objects.get(name="Salesforce CRM")],
        reason="CRM replaced.",
    )
    erasure_request_process(request=request, actor=world["steward"])
    cadence.refresh_from_db()
    assert cadence.due_reason == "Data-source change: DECOM-7"


def test_a_new_model_version_clears_the_flag(world, cadence):
    policy = Policy.objects.get(code="CC-17")
    policy_save(actor=world["compliance"], controls=policy.controls.all(), policy=policy, title="Changed")
    world.model()
    cadence.refresh_from_db()
    assert cadence.due_since is None
    assert cadence.last_retrained_at is not None
