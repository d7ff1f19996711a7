"""Two model versions side by side (and two training runs): data added, removed and changed with what changed in
its lineage, configuration key by key, libraries, gate figures with deltas, model card sections; in the same number
of queries whatever the number of datasets; and ``manage.py compare`` printing it, as text or JSON."""

import io
import json
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from governance.choices import EvaluationDimension
from lineage.comparison import data_facts
from lineage.services import dataset_version_review_approve
from registry.comparison import compare_model_versions, compare_training_runs
from registry.services.training import model_version_register, training_run_complete
from tests.registry.conftest import PASSWORD, sha, version
from tests.registry.pages import prod_with_previous
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db


def model(world, *, datasets: tuple[str, ...], **run_values):
    run = world.run(datasets=datasets, **run_values)
    run = training_run_complete(run=run, actor=world["mleng"], output_weights_digest=sha(run.run_id), metrics={})
    return model_version_register(run=run, actor=world["mleng"], name="support-assistant")


@pytest.fixture
def second_chats(world):
    """support-chats@2 (in Legal review in the demo) approved for training."""
    chats = version("support-chats@2")
    for reviewer in ("legal", "security", "compliance"):
        chats = dataset_version_review_approve(version=chats, reviewer=world[reviewer], password=PASSWORD)
    return chats


@pytest.fixture
def pair(world, second_chats):
    before = model(world, datasets=("support-chats@1",))
    after = model(
        world,
        datasets=("support-chats@2", "wealth-faq@2"),
        config={"lora": {"r": 32, "alpha": 32}, "epochs": 3},
        library_versions={"torch": "2.5.0", "transformers": "4.46.0", "peft": "0.13.2"},
        random_seeds={"torch": 1234, "data_order": 7},
    )
    world.gate(before)
    world.gate(after, rates={EvaluationDimension.BIAS_FAIRNESS: (9, 10)})
    world.card(before)
    world.card(after, intended_use="Answer billing and wealth questions of retail customers.")
    return before, after


def test_the_comparison_says_what_changed_in_data_settings_gate_and_card(pair) -> None:
    before, after = pair

    comparison = compare_model_versions(before, after)

    data = {item.dataset: item for item in comparison.data}
    assert data["wealth-faq"].change == "added"
    assert data["wealth-faq"].after.startswith("wealth-faq@2 (")
    assert data["support-chats"].change == "changed"
    assert data["support-chats"].before.startswith("support-chats@1 (")
    assert data["support-chats"].after.startswith("support-chats@2 (")
    assert "content digest" in {fact.what for fact in data["support-chats"].facts}
    assert [(c.what, c.before, c.after) for c in comparison.configuration] == [("lora.r", 16, 32)]
    assert [(c.what, c.before, c.after) for c in comparison.seeds] == [("data_order", 99, 7)]
    assert [(c.what, c.before, c.after) for c in comparison.libraries] == [("torch", "2.4.1", "2.5.0")]
    assert {c.what for c in comparison.environment} >= {"configuration hash", "output weights digest"}
    assert comparison.base_model == ()
    bias = next(figure for figure in comparison.gate if figure.dimension == EvaluationDimension.BIAS_FAIRNESS.label)
    assert (bias.before, bias.after, bias.delta) == ("100.00", "90.00", "-10.00")
    assert bias.regressed
    assert {c.what for c in comparison.card} >= {"intended_use"}


def test_training_runs_compare_without_gate_or_card(pair) -> None:
    before, after = pair

    comparison = compare_training_runs(before.training_run, after.training_run)

    assert (comparison.before, comparison.after) == (before.training_run.run_id, after.training_run.run_id)
    assert comparison.gate == ()
    assert comparison.card == ()
    assert [c.what for c in comparison.configuration] == ["lora.r"]


def test_the_number_of_queries_does_not_grow_with_the_datasets(world, pair) -> None:
    before, after = pair
    same_data = model(world, datasets=("support-chats@1",))
    with CaptureQueriesContext(connection) as nothing_changed:
        compare_model_versions(before, same_data)
    with CaptureQueriesContext(connection) as two_datasets_moved:
        compare_model_versions(before, after)
    ids = [version(identifier).pk for identifier in ("support-chats@1", "support-chats@2", "wealth-faq@2")]
    with CaptureQueriesContext(connection) as facts_of_one:
        data_facts(ids[:1])
    with CaptureQueriesContext(connection) as facts_of_three:
        data_facts(ids)

    assert len(facts_of_three) == len(facts_of_one) == 5
    # Only the data facts of changed datasets are extra, and they are read at once.
    assert len(two_datasets_moved) == len(nothing_changed) + len(facts_of_one)


def test_the_command_prints_the_comparison_as_text_and_json(pair) -> None:
    before, after = pair
    text, document = io.StringIO(), io.StringIO()

    call_command("compare", "--model-version", before.identifier, "--model-version", after.identifier, stdout=text)
    call_command(
        "compare", "--model-version", before.identifier, "--model-version", after.identifier, "--json", stdout=document
    )

    printed = text.getvalue()
    assert printed.startswith(f"{before.identifier} -> {after.identifier}")
    assert "  + wealth-faq@2" in printed
    assert "  lora.r: 16 -> 32" in printed
    assert "100.00 -> 90.00 (-10.00)" in printed
    parsed = json.loads(document.getvalue())
    assert parsed["configuration"] == [{"what": "lora.r", "before": 16, "after": 32}]
    assert {item["dataset"]: item["change"] for item in parsed["data"]} == {
        "support-chats": "changed",
        "wealth-faq": "added",
    }


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--model-version", "support-assistant:1"], "Name exactly two to compare (1 given)"),
        (["--model-version", "support-assistant:1", "--model-version", "nope:9"], "No model version 'nope:9'"),
        (["--training-run", "run-x", "--training-run", "run-y"], "No training run 'run-x'"),
    ],
)
def test_the_command_refuses_what_it_cannot_compare_with_a_clear_error(pair, arguments, message) -> None:
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("compare", *arguments, stdout=io.StringIO())


# --- the page ----------------------------------------------------------------------------------------------------


def compare_url(model_version, **query) -> str:
    url = reverse("admin:registry_modelversion_compare", args=[model_version.pk])
    return f"{url}?{urlencode(query)}" if query else url


def test_the_page_compares_with_the_version_replaced_in_production_by_default(client, world) -> None:
    deployment = prod_with_previous(world)
    login_verified(client, world["auditor"])

    page = client.get(compare_url(deployment.current_version))

    assert page.status_code == 200
    assert page.context["comparison"].before == deployment.previous_stable_version.identifier
    body = page.content.decode()
    assert f"{deployment.previous_stable_version} &rarr; {deployment.current_version}" in body
    assert 'id="comparison-configuration"' in body
    change_page = client.get(reverse("admin:registry_modelversion_change", args=[deployment.current_version.pk]))
    assert compare_url(deployment.current_version) in change_page.content.decode()


def test_the_page_compares_with_the_version_asked_for_and_says_when_there_is_none(client, pair, world) -> None:
    before, after = pair
    login_verified(client, world["risk"])

    asked = client.get(compare_url(after, **{"with": before.identifier}))
    unknown = client.get(compare_url(after, **{"with": "support-assistant:99"}))

    assert asked.context["comparison"].before == before.identifier
    assert "wealth-faq@2" in asked.content.decode()
    assert unknown.status_code == 200
    assert "support-assistant:99 is not another version of support-assistant." in unknown.content.decode()
    assert unknown.context["comparison"] is None


def test_the_page_takes_as_many_queries_whatever_the_data(client, pair, world) -> None:
    before, after = pair
    same_data = model(world, datasets=("support-chats@1",))
    login_verified(client, world["auditor"])
    client.get(compare_url(after, **{"with": before.identifier}))  # sessions and caches warmed

    with CaptureQueriesContext(connection) as unchanged:
        client.get(compare_url(same_data, **{"with": before.identifier}))
    with CaptureQueriesContext(connection) as changed:
        client.get(compare_url(after, **{"with": before.identifier}))

    assert len(changed) == len(unchanged) + 5  # the changed datasets' facts, read at once


def test_someone_who_may_not_see_model_versions_is_refused(client, pair, django_user_model) -> None:
    _before, after = pair
    login_verified(client, django_user_model.objects.create_user("no-role", password=PASSWORD, is_staff=True))

    assert client.get(compare_url(after)).status_code == 403
