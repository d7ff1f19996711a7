"""Languages a model learnt but was never tested in: a gap in its validation.

A model fine-tuned on German and French support chats answers in German and French; if its validation suite has
only English cases, two of its three languages went out untested. The training data's languages are the ones its
dataset versions' lineage sources declare (``LineageSource.languages``); the validation's are the languages of the
cases in the suite behind the version's latest gate decision (or, before any, the latest version of each of the
use case's suites). A case in a language counts for every regional form of it (``de`` cases test ``de-CH`` data and
the other way round): the suite tests the language, and a dialect gap is for the suite's authors to judge.
"""

from lineage.models import LineageSource
from lineage.models.synthetic import primary_language
from registry.models import GateDecision, ModelVersion, TrainingRunDataset, ValidationCase, ValidationSuite


def training_languages(model_version: ModelVersion) -> list[str]:
    """The languages the sources of the version's training data declare, sorted."""
    trained_on = TrainingRunDataset.objects.filter(run_id=model_version.training_run_id).values("dataset_version_id")
    declared = LineageSource.objects.filter(record__version_id__in=trained_on).values_list("languages", flat=True)
    return sorted({tag for languages in declared for tag in languages or ()})


def _validation_suite_ids(model_version: ModelVersion) -> list[int]:
    gate = GateDecision.objects.filter(model_version=model_version).order_by("-decided_at", "-id").first()
    if gate is not None:
        return [gate.suite_id]
    latest: dict[str, int] = {}
    suites = ValidationSuite.objects.filter(use_case_id=model_version.use_case_id).order_by("slug", "-version")
    for slug, pk in suites.values_list("slug", "pk"):
        latest.setdefault(slug, pk)
    return list(latest.values())


def validation_languages(model_version: ModelVersion) -> list[str]:
    """The languages of the cases the version is (or would be) validated with, sorted."""
    cases = ValidationCase.objects.filter(suite_id__in=_validation_suite_ids(model_version)).exclude(language="")
    return sorted(set(cases.values_list("language", flat=True)))


def languages_missing_from_validation(model_version: ModelVersion) -> list[str]:
    """Training data languages no validation case is written in (by primary language), sorted: a completeness gap."""
    tested = {primary_language(tag) for tag in validation_languages(model_version)}
    return [tag for tag in training_languages(model_version) if primary_language(tag) not in tested]
