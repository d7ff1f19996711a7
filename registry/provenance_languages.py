"""Languages a model learnt but was never tested in: a gap in its validation, and so in its provenance.

A model fine-tuned on German and French support chats answers in German and French; if its validation suite has
only English cases, two of its three languages went out untested. The training data's languages are the ones its
dataset versions' lineage sources declare (``LineageSource.languages``); the validation's are the languages of the
cases in the suite behind the version's latest gate decision (or, before any, the latest version of each of the
use case's suites). A case in a language counts for every regional form of it (``de`` cases test ``de-CH`` data and
the other way round): the suite tests the language, and a dialect gap is for the suite's authors to judge.

Each training language is a fact of the completeness checklist (``LANGUAGE_TESTED``, registered with
``registry.completeness`` by the app): present when a case tests it. Everything is read for any number of versions
in five queries, because the checklist is computed for whole landing pages and on every promotion.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.urls import reverse

from accounts.choices import Role
from lineage.completeness import Fact, FactKind, owner_of
from lineage.models import LineageSource
from lineage.models.synthetic import primary_language
from registry.models import ModelVersion, TrainingRunDataset, ValidationCase, ValidationSuite
from registry.selectors import latest_gate_decisions

LANGUAGE_TESTED = FactKind(
    "model_version.language_tested",
    "training data language tested by the validation suite",
    "model version",
    Role.ML_ENGINEER,
)


@dataclass(frozen=True)
class VersionLanguages:
    """The languages a version was trained on and those its validation cases are written in, each sorted."""

    trained: list[str]
    validated: list[str]

    @property
    def missing(self) -> list[str]:
        tested = {primary_language(tag) for tag in self.validated}
        return [tag for tag in self.trained if primary_language(tag) not in tested]


def _training_languages(versions: Sequence[ModelVersion]) -> dict[int, set[str]]:
    """Training run id -> the languages its dataset versions' sources declare (two queries)."""
    run_ids = {version.training_run_id for version in versions}
    datasets_of_run: dict[int, set[int]] = defaultdict(set)
    for run_id, dataset_version_id in TrainingRunDataset.objects.filter(run_id__in=run_ids).values_list(
        "run_id", "dataset_version_id"
    ):
        datasets_of_run[run_id].add(dataset_version_id)
    languages_of_dataset: dict[int, set[str]] = defaultdict(set)
    sources = LineageSource.objects.filter(record__version_id__in=set().union(*datasets_of_run.values()))
    for dataset_version_id, languages in sources.values_list("record__version_id", "languages"):
        languages_of_dataset[dataset_version_id].update(languages or ())
    return {
        run_id: set().union(*(languages_of_dataset[pk] for pk in dataset_ids))
        for run_id, dataset_ids in datasets_of_run.items()
    }


def _validation_suites(versions: Sequence[ModelVersion]) -> dict[int, set[int]]:
    """Version id -> the suites it is (or would be) validated with (two queries)."""
    suites = {version_id: {gate.suite_id} for version_id, gate in latest_gate_decisions(versions).items()}
    # The suites of every version's use case, not only the ungated ones', so the count of queries stays the same.
    latest: dict[tuple[int, str], int] = {}
    for use_case_id, slug, pk in (
        ValidationSuite.objects.filter(use_case_id__in={version.use_case_id for version in versions})
        .order_by("use_case_id", "slug", "-version")
        .values_list("use_case_id", "slug", "pk")
    ):
        latest.setdefault((use_case_id, slug), pk)
    for version in versions:
        if version.pk not in suites:
            suites[version.pk] = {
                pk for (use_case_id, _slug), pk in latest.items() if use_case_id == version.use_case_id
            }
    return suites


def versions_languages(versions: Sequence[ModelVersion]) -> dict[int, VersionLanguages]:
    """Version id -> its training and validation languages, for any number of versions in five queries."""
    versions = list(versions)
    if not versions:
        return {}
    trained = _training_languages(versions)
    suites = _validation_suites(versions)
    languages_of_suite: dict[int, set[str]] = defaultdict(set)
    cases = ValidationCase.objects.filter(suite_id__in=set().union(*suites.values())).exclude(language="")
    for suite_id, language in cases.values_list("suite_id", "language").distinct():
        languages_of_suite[suite_id].add(language)
    return {
        version.pk: VersionLanguages(
            trained=sorted(trained.get(version.training_run_id, ())),
            validated=sorted(set().union(*(languages_of_suite[pk] for pk in suites[version.pk]))),
        )
        for version in versions
    }


def training_languages(model_version: ModelVersion) -> list[str]:
    """The languages the sources of the version's training data declare, sorted."""
    return versions_languages([model_version])[model_version.pk].trained


def languages_missing_from_validation(model_version: ModelVersion) -> list[str]:
    """Training data languages no validation case is written in (by primary language), sorted: a completeness gap."""
    return versions_languages([model_version])[model_version.pk].missing


def language_facts(versions: Sequence[ModelVersion]) -> dict[int, list[Fact]]:
    """Version id -> one fact per training language, present when a validation case tests it (the completeness
    checklist's extra check; the versions come loaded with ``registered_by``)."""
    by_id = {version.pk: version for version in versions}
    facts: dict[int, list[Fact]] = {}
    for version_id, languages in versions_languages(versions).items():
        version = by_id[version_id]
        engineer, engineer_id = owner_of(version.registered_by)
        url = reverse("admin:registry_modelversion_change", args=[version.pk])
        missing = set(languages.missing)
        facts[version_id] = [
            Fact(LANGUAGE_TESTED, f"{version} / language {tag}", tag not in missing, engineer, engineer_id, url)
            for tag in languages.trained
        ]
    return facts
