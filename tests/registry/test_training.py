import pytest
from django.core.exceptions import ValidationError

from audit.ledger import ActionDenied
from audit.models import LedgerEntry
from lineage.services import dataset_version_revoke
from registry.choices import TrainingRunStatus
from registry.errors import GateBlocked
from registry.models import TrainingRun
from registry.services.training import (
    config_hash_of,
    model_version_register,
    training_run_complete,
    training_run_fail,
)
from tests.registry.conftest import ledger_of, sha, version

pytestmark = pytest.mark.django_db


def test_a_run_on_approved_data_records_every_reproducibility_fact_and_its_data(world):
    run = world.run()

    assert run.status == TrainingRunStatus.RUNNING
    assert run.config_hash == config_hash_of({"epochs": 3, "lora": {"alpha": 32, "r": 16}})
    assert [link.dataset_version.identifier for link in run.dataset_links.all()] == ["support-chats@1"]
    assert run.dataset_links.get().content_digest == version("support-chats@1").content_digest
    payloads = [entry.payload for entry in ledger_of(run)]
    assert {
        "trained_on": [{"dataset_version": "support-chats@1", "content_digest": run.dataset_links.get().content_digest}]
    } in payloads


def test_a_run_on_unapproved_data_is_refused_naming_every_offending_version(world):
    with pytest.raises(GateBlocked) as refused:
        world.run(datasets=("support-chats@1", "support-chats@2", "wealth-faq@1"))

    reasons = " ".join(refused.value.reasons)
    assert "support-chats@2 is legal review" in reasons
    assert "wealth-faq@1 is revoked" in reasons
    assert not any(reason.startswith("support-chats@1 ") for reason in refused.value.reasons)
    assert not TrainingRun.objects.exists()
    denial = LedgerEntry.objects.filter(action="denied").latest("sequence")
    assert denial.payload["attempted"] == "training_run_register"
    assert "wealth-faq@1" in denial.payload["reason"]


def test_a_declared_configuration_hash_must_match_the_configuration(world):
    with pytest.raises(ValidationError) as refused:
        world.run(config_hash=sha("something else"))
    assert "config_hash" in refused.value.message_dict
    assert world.run(config_hash=config_hash_of({"lora": {"r": 16, "alpha": 32}, "epochs": 3})).pk


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("config", ["not", "an", "object"], "must be a JSON object"),
        ("config", {"blob": "x" * 70_000}, "the limit is"),
        ("hyperparameters", {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}, "nested deeper"),
        ("random_seeds", {"seed": float("nan")}, "not plain JSON"),
        ("code_commit", "not-a-commit", "commit hash"),
        ("container_image_digest", "latest", "sha256:"),
        ("decision_log", "  ", "Say why"),
        ("dataset_versions", [], "Name the dataset versions"),
    ],
)
def test_malformed_and_oversized_run_input_is_refused_and_nothing_is_written(world, field, value, message):
    with pytest.raises(ValidationError) as refused:
        world.run(**{field: value})
    assert message in str(refused.value)
    assert not TrainingRun.objects.exists()


@pytest.mark.parametrize("username", ["legal", "auditor", "admin", "risk"])
def test_only_ml_engineers_register_runs_administrators_included(world, username):
    with pytest.raises(ActionDenied):
        world.run(actor=username)
    assert not TrainingRun.objects.exists()


def test_model_versions_are_numbered_per_name_from_completed_runs(world):
    first, second = world.model(), world.model()

    assert (first.identifier, second.identifier) == ("support-assistant:1", "support-assistant:2")
    assert first.weights_digest == first.training_run.output_weights_digest


def test_a_running_or_failed_run_produces_no_model_version(world):
    running = world.run()
    with pytest.raises(ActionDenied, match="only a completed run"):
        model_version_register(run=running, actor=world["mleng"], name="support-assistant")
    failed = training_run_fail(run=running, actor=world["mleng"], reason="out of memory")
    assert failed.status == TrainingRunStatus.FAILED
    with pytest.raises(ActionDenied, match="cannot change"):
        training_run_complete(run=failed, actor=world["mleng"], output_weights_digest=sha(1), metrics={})


def test_data_revoked_after_the_run_blocks_its_model_version(world):
    run = world.run()
    run = training_run_complete(run=run, actor=world["mleng"], output_weights_digest=sha(2), metrics={})
    dataset_version_revoke(version=version("support-chats@1"), actor=world["compliance"], reason="Erasure request E-1")

    with pytest.raises(GateBlocked, match="support-chats@1 is revoked"):
        model_version_register(run=run, actor=world["mleng"], name="support-assistant")
