"""``manage.py import_mlflow`` against a real MLflow tracking server (SQLite backend) started for these tests."""

import io
import uuid
from functools import partial

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.choices import LedgerAction
from audit.models import LedgerEntry
from registry.mlflow_tracking import read_model_versions
from registry.models import ModelVersion, TrainingRun
from registry.services.mlflow_import import model_version_import_batch
from registry.services.training import training_run_complete
from tests import services
from tests.concurrency import run_at_once
from tests.registry.conftest import ledger_of, sha, version
from tests.registry.mlflow_server import Pipeline, mlflow_server

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def tracking_uri(tmp_path_factory) -> str:
    with mlflow_server(tmp_path_factory.mktemp("mlflow")) as uri:
        yield uri


@pytest.fixture
def pipeline(tracking_uri) -> Pipeline:
    return Pipeline(tracking_uri)


@pytest.fixture
def model_name() -> str:
    """A registered model of its own per test: the server lives for the whole module."""
    return f"billing-assistant-{uuid.uuid4().hex[:8]}"


def tags(**overrides: str) -> dict[str, str]:
    """What a governed pipeline tags its runs with (see registry.services.mlflow_import)."""
    return {
        "mlflow.source.git.commit": sha("commit")[:40],
        "mlflow.source.git.repoURL": "git@example.com:ml/support-assistant.git",
        "portal.base_model": "meta-llama/Llama-3.1-8B-Instruct 2024-07",
        "portal.hardware": "8x A100 80GB",
        "portal.container_image_digest": f"sha256:{sha('image')}",
        "portal.weights_digest": sha(f"weights-{uuid.uuid4()}"),
        "portal.decision_log": "support-chats@1 is the approved, redacted billing corpus; LoRA r=16.",
        "portal.library.torch": "2.4.1",
        "portal.library.peft": "0.13.2",
        "team": "support-ml",
        **overrides,
    }


def mlflow_input(identifier: str) -> tuple[str, str]:
    """A dataset input as the portal asks for it: the version's identifier and its digest's first 32 hex digits."""
    return identifier, version(identifier).content_digest[:32]


def run_import(tracking_uri: str, model: str, *extra: str, actor: str = "mleng", name: str = "") -> str:
    out = io.StringIO()
    arguments = ["--tracking-uri", tracking_uri, "--model", model, "--use-case", "support-assistant"]
    arguments += ["--actor", actor, "--name", name or model, *extra]
    call_command("import_mlflow", *arguments, stdout=out)
    return out.getvalue()


def failing_import(tracking_uri: str, model: str, *extra: str, **kwargs: str) -> tuple[str, CommandError]:
    out = io.StringIO()
    arguments = [
        "--tracking-uri",
        tracking_uri,
        "--model",
        model,
        "--use-case",
        kwargs.get("use_case", "support-assistant"),
    ]
    arguments += ["--actor", kwargs.get("actor", "mleng"), "--name", kwargs.get("name", model), *extra]
    with pytest.raises(CommandError) as raised:
        call_command("import_mlflow", *arguments, stdout=out)
    return out.getvalue(), raised.value


def test_versions_and_their_runs_are_imported_whole_and_a_second_import_changes_nothing(
    world, pipeline, tracking_uri, model_name
):
    first = pipeline.run(datasets=[mlflow_input("support-chats@1")], tags=tags())
    second = pipeline.run(
        datasets=[mlflow_input("support-chats@1")],
        tags=tags(
            **{
                "portal.decision_log": "",
                "mlflow.note.content": "Second epoch schedule.",
                "portal.code_repository": "https://git.example.com/ml/support-assistant.git",
            }
        ),
        params={"learning_rate": "0.0001", "data_seed": "7", "seed": "99"},
        metrics={"eval_loss": 0.85},
    )
    pipeline.register(model_name, first)
    pipeline.register(model_name, second)

    output = run_import(tracking_uri, model_name)

    assert output.splitlines() == [
        f"imported: models:/{model_name}/1 -> {model_name}:1 (run {first})",
        f"imported: models:/{model_name}/2 -> {model_name}:2 (run {second})",
    ]
    imported = ModelVersion.objects.get(name=model_name, number=2)
    assert imported.external_reference == f"models:/{model_name}/2"
    assert imported.registered_by == world["mleng"]
    run = imported.training_run
    assert run.run_id == second
    assert run.status == "completed"
    assert run.use_case == world.use_case
    assert run.base_model == world.base_model
    assert run.code_commit == sha("commit")[:40]
    assert run.code_repository == "https://git.example.com/ml/support-assistant.git"  # portal's tag wins
    assert TrainingRun.objects.get(run_id=first).code_repository == "git@example.com:ml/support-assistant.git"
    assert run.hyperparameters == {"learning_rate": "0.0001"}
    assert run.random_seeds == {"data_seed": "7", "seed": "99"}
    assert run.metrics == {"eval_loss": 0.85}
    assert run.library_versions == {"torch": "2.4.1", "peft": "0.13.2"}
    assert run.decision_log == "Second epoch schedule."
    assert run.config["params"] == {"learning_rate": "0.0001", "data_seed": "7", "seed": "99"}
    assert run.config["tags"]["team"] == "support-ml"
    assert {item["context"] for item in run.config["mlflow"]["dataset_inputs"]} == {"training", "eval"}
    assert [(link.dataset_version, link.content_digest) for link in run.dataset_links.all()] == [
        (version("support-chats@1"), version("support-chats@1").content_digest)
    ]
    assert imported.weights_digest == run.output_weights_digest
    assert ledger_of(run)[0].action == LedgerAction.CREATE
    assert ledger_of(imported)[0].action == LedgerAction.CREATE
    assert ledger_of(imported)[0].actor == world["mleng"]

    counts = (ModelVersion.objects.count(), TrainingRun.objects.count(), LedgerEntry.objects.count())
    again = run_import(tracking_uri, model_name)

    assert again.splitlines() == [
        f"unchanged: models:/{model_name}/1 -> {model_name}:1 (run {first})",
        f"unchanged: models:/{model_name}/2 -> {model_name}:2 (run {second})",
    ]
    assert (ModelVersion.objects.count(), TrainingRun.objects.count(), LedgerEntry.objects.count()) == counts


def test_a_version_trained_on_data_not_approved_is_refused_and_nothing_of_it_is_written(
    world, pipeline, tracking_uri, model_name
):
    approved = pipeline.run(datasets=[mlflow_input("support-chats@1")], tags=tags())
    in_review = pipeline.run(datasets=[mlflow_input("support-chats@1"), mlflow_input("support-chats@2")], tags=tags())
    pipeline.register(model_name, approved)
    pipeline.register(model_name, in_review)

    output, error = failing_import(tracking_uri, model_name)

    lines = output.splitlines()
    assert lines[0] == f"imported: models:/{model_name}/1 -> {model_name}:1 (run {approved})"
    assert lines[1].startswith(f"refused: models:/{model_name}/2: Training on data that is not approved")
    assert "support-chats@2 is legal review, not approved for training." in lines[1]
    assert error.returncode == 1
    assert "1 of 2 versions refused" in str(error)
    assert not TrainingRun.objects.filter(run_id=in_review).exists()
    assert list(ModelVersion.objects.filter(name=model_name).values_list("number", flat=True)) == [1]
    denial = LedgerEntry.objects.filter(action=LedgerAction.DENIED).latest("sequence")
    assert denial.payload["attempted"] == "training_run_register"
    assert "support-chats@2" in denial.payload["reason"]


def test_datasets_the_portal_cannot_match_are_reported_never_taken_as_approved(
    world, pipeline, tracking_uri, model_name
):
    wrong_digest = pipeline.run(datasets=[("support-chats@1", "0" * 32)], tags=tags())
    unknown = pipeline.run(datasets=[("crm-export", "f" * 32)], tags=tags())
    no_such_version = pipeline.run(datasets=[("support-chats@99", "a" * 32)], tags=tags())
    mlflow_digest_only = pipeline.run(datasets=[("support-chats", "1a2b3c4d")], tags=tags())
    for run_id in (wrong_digest, unknown, no_such_version, mlflow_digest_only):
        pipeline.register(model_name, run_id)
    entries = LedgerEntry.objects.count()

    output, error = failing_import(tracking_uri, model_name)

    lines = output.splitlines()
    assert len(lines) == 4
    assert all(line.startswith("refused: ") for line in lines)
    assert "does not carry the content digest of support-chats@1" in lines[0]
    assert "matches no dataset version in the portal" in lines[1]
    assert "names support-chats@99, which is not a dataset version in the portal" in lines[2]
    assert "name it slug@number" in lines[3]
    assert "4 of 4 versions refused" in str(error)
    assert not ModelVersion.objects.filter(name=model_name).exists()
    assert not TrainingRun.objects.filter(run_id__in=[wrong_digest, unknown, no_such_version]).exists()
    assert LedgerEntry.objects.count() == entries


def test_a_run_without_the_facts_that_reproduce_it_is_refused_with_every_missing_one(
    world, pipeline, tracking_uri, model_name
):
    bare = pipeline.run(
        datasets=[mlflow_input("support-chats@1")],
        tags={"portal.base_model": "acme/unknown-model 1"},
        params={"learning_rate": "0.0002"},
    )
    unfinished = pipeline.run(datasets=[mlflow_input("support-chats@1")], tags=tags(), finish=False)
    pipeline.register(model_name, bare)
    pipeline.register(model_name, unfinished)

    output, _error = failing_import(tracking_uri, model_name)

    bare_line, unfinished_line = output.splitlines()
    for missing in (
        "mlflow.source.git.commit",
        "mlflow.source.git.repoURL",
        "portal.hardware",
        "portal.container_image_digest",
        "portal.decision_log",
        "portal.weights_digest",
        "'acme/unknown-model 1' is not registered",
        "no random seed",
        "portal.library.<package>",
    ):
        assert missing in bare_line
    assert f"Its run {unfinished} is running, not finished." in unfinished_line
    assert not ModelVersion.objects.filter(name=model_name).exists()


def test_malformed_and_oversized_values_are_refused_by_the_service_with_what_to_fix(
    world, pipeline, tracking_uri, model_name
):
    malformed = pipeline.run(
        datasets=[mlflow_input("support-chats@1")], tags=tags(**{"portal.container_image_digest": "latest"})
    )
    oversized = pipeline.run(
        datasets=[mlflow_input("support-chats@1")],
        tags=tags(),
        params={"seed": "1", **{f"prompt_template_{index}": "x" * 6000 for index in range(15)}},
    )
    pipeline.register(model_name, malformed)
    pipeline.register(model_name, oversized)

    output, _error = failing_import(tracking_uri, model_name)

    malformed_line, oversized_line = output.splitlines()
    assert "container_image_digest: sha256: followed by 64 hexadecimal digits." in malformed_line
    assert "config: The configuration takes" in oversized_line
    assert "the limit is 65536" in oversized_line
    assert not TrainingRun.objects.filter(run_id__in=[malformed, oversized]).exists()


def test_an_engineer_role_is_needed_and_the_refusal_is_recorded(world, pipeline, tracking_uri, model_name):
    run_id = pipeline.run(datasets=[mlflow_input("support-chats@1")], tags=tags())
    pipeline.register(model_name, run_id)

    output, _error = failing_import(tracking_uri, model_name, actor="legal")

    assert "Your roles do not allow this (add trainingrun)." in output
    denial = LedgerEntry.objects.filter(action=LedgerAction.DENIED).latest("sequence")
    assert denial.actor == world["legal"]
    assert not TrainingRun.objects.filter(run_id=run_id).exists()


def test_a_dry_run_checks_everything_and_writes_nothing(world, pipeline, tracking_uri, model_name):
    good = pipeline.run(datasets=[mlflow_input("support-chats@1")], tags=tags())
    bad = pipeline.run(datasets=[mlflow_input("support-chats@2")], tags=tags())
    pipeline.register(model_name, good)
    pipeline.register(model_name, bad)
    entries = LedgerEntry.objects.count()

    output, _error = failing_import(tracking_uri, model_name, "--dry-run")

    assert output.splitlines()[0] == f"would be imported: models:/{model_name}/1 -> {model_name}:1 (run {good})"
    assert "support-chats@2 is legal review, not approved for training." in output.splitlines()[1]
    assert not TrainingRun.objects.filter(run_id__in=[good, bad]).exists()
    assert LedgerEntry.objects.count() == entries


def test_a_second_mlflow_version_of_the_same_run_is_refused_not_registered_twice(
    world, pipeline, tracking_uri, model_name
):
    run_id = pipeline.run(datasets=[mlflow_input("support-chats@1")], tags=tags())
    pipeline.register(model_name, run_id)
    pipeline.register(model_name, run_id)

    output, _error = failing_import(tracking_uri, model_name)

    first, second = output.splitlines()
    assert first.startswith("imported: ")
    assert f"Run {run_id} already produced {model_name}:1 (not models:/{model_name}/2)." in second
    assert ModelVersion.objects.filter(name=model_name).count() == 1


def test_a_run_registered_through_the_api_is_completed_and_gets_its_model_version(
    world, pipeline, tracking_uri, model_name
):
    run_id = pipeline.run(datasets=[mlflow_input("support-chats@1")], tags=tags())
    pipeline.register(model_name, run_id)
    world.run(run_id=run_id)

    output = run_import(tracking_uri, model_name)

    assert output.startswith(f"imported: models:/{model_name}/1 -> {model_name}:1")
    assert TrainingRun.objects.get(run_id=run_id).status == "completed"


def test_a_run_already_in_the_portal_that_disagrees_with_mlflow_is_refused_not_linked(
    world, pipeline, tracking_uri, model_name
):
    other_data = pipeline.run(datasets=[mlflow_input("support-chats@1")], tags=tags())
    weights = tags()
    other_weights = pipeline.run(datasets=[mlflow_input("support-chats@1")], tags=weights)
    pipeline.register(model_name, other_data)
    pipeline.register(model_name, other_weights)
    world.run(run_id=other_data, datasets=("support-chats@1", "wealth-faq@2"))
    training_run_complete(
        run=world.run(run_id=other_weights), actor=world["mleng"], output_weights_digest=sha("other"), metrics={}
    )
    entries = LedgerEntry.objects.count()

    output, error = failing_import(tracking_uri, model_name)

    data_line, weights_line = output.splitlines()
    assert data_line.startswith(f"refused: models:/{model_name}/1: dataset_versions: Run {other_data} is registered")
    assert "trained on support-chats@1, wealth-faq@2; MLflow reports support-chats@1" in data_line
    assert weights_line.startswith(f"refused: models:/{model_name}/2: output_weights_digest: Run {other_weights}")
    assert f"{sha('other')}; MLflow reports {weights['portal.weights_digest']}" in weights_line
    assert error.returncode == 1
    assert not ModelVersion.objects.filter(name=model_name).exists()
    assert TrainingRun.objects.get(run_id=other_data).status == "running"
    assert LedgerEntry.objects.count() == entries


def test_a_version_imported_under_one_use_case_is_refused_under_another(world, pipeline, tracking_uri, model_name):
    run_id = pipeline.run(datasets=[mlflow_input("support-chats@1")], tags=tags())
    pipeline.register(model_name, run_id)
    run_import(tracking_uri, model_name)
    entries = LedgerEntry.objects.count()

    output, error = failing_import(tracking_uri, model_name, use_case="wealth-chatbot")

    assert output.splitlines() == [
        f"refused: models:/{model_name}/1: {model_name}:1 was imported from models:/{model_name}/1 under the use "
        "case support-assistant; the import asks for wealth-chatbot: a model version belongs to one use case."
    ]
    assert error.returncode == 1
    assert LedgerEntry.objects.count() == entries


@services.postgres_race
@pytest.mark.django_db(transaction=True)
def test_two_imports_of_the_same_version_at_once_register_it_once(world, pipeline, tracking_uri, model_name):
    run_id = pipeline.run(datasets=[mlflow_input("support-chats@1")], tags=tags())
    pipeline.register(model_name, run_id)
    snapshots = read_model_versions(tracking_uri, model_name)
    import_once = partial(
        model_version_import_batch, snapshots=snapshots, use_case=world.use_case, name=model_name, actor=world["mleng"]
    )
    raced = run_at_once(import_once, import_once, timeout=120)
    outcomes = [str(result.outcome) for outcome in raced for result in outcome.get()]

    assert sorted(outcomes) == ["imported", "unchanged"]
    assert ModelVersion.objects.filter(name=model_name).count() == 1
    assert TrainingRun.objects.filter(run_id=run_id).count() == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--tracking-uri", "file:///tmp/mlruns"], "is not the http(s) URL of an MLflow tracking server"),
        (["--use-case", "no-such-use-case"], "No use case 'no-such-use-case'."),
        (["--actor", "nobody"], "No active user 'nobody'"),
        (["--name", "Billing Assistant"], "cannot be a portal model name"),
        (["--model", "no-such-model"], "has no registered model 'no-such-model'."),
    ],
)
def test_wrong_arguments_get_a_clear_error(demo_organisation, tracking_uri, arguments, message):
    given = {
        "--tracking-uri": tracking_uri,
        "--model": "billing-assistant",
        "--use-case": "support-assistant",
        "--actor": "mleng",
        "--name": "",
    }
    given.update(dict(zip(arguments[::2], arguments[1::2], strict=True)))
    flat = [item for key, value in given.items() if value for item in (key, value)]
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")) as raised:
        call_command("import_mlflow", *flat, stdout=io.StringIO())
    assert raised.value.returncode == 1


def test_an_unreachable_tracking_server_is_reported(demo_organisation):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(CommandError, match=f"Cannot read the MLflow tracking server at http://127.0.0.1:{port}"):
        call_command(
            "import_mlflow",
            *("--tracking-uri", f"http://127.0.0.1:{port}", "--model", "billing-assistant"),
            *("--use-case", "support-assistant", "--actor", "mleng"),
            stdout=io.StringIO(),
        )
