"""A language present in the training data but tested by no validation case is a completeness gap: the languages
the training data's sources declare, against those of the cases in the suite behind the latest gate decision (or,
before any, the use case's latest suites); a case in a language covers its regional forms."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.ledger import ActionDenied
from governance.choices import EvaluationDimension
from registry.choices import Environment, ExpectedBehaviour, ValidationCategory
from registry.completeness import model_version_completeness
from registry.models import ValidationCase
from registry.provenance_languages import language_facts, languages_missing_from_validation, training_languages
from registry.services.promotion import promotion_problems
from registry.services.validation import validation_case_add, validation_suite_new_version
from tests.registry.conftest import World, make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(demo_lineage) -> World:
    """The registry's world with a suite whose cases state no language, so each test says which languages it tests."""
    return make_world(demo_lineage, case_languages=())


def case(world, suite, key: str, language: str, actor: str = "mleng") -> ValidationCase:
    return validation_case_add(
        suite=suite,
        actor=world[actor],
        key=key,
        dimension=EvaluationDimension.FACTUALITY,
        category=ValidationCategory.PROMPT,
        prompt=f"A refund question in {language}",
        expected_behaviour=ExpectedBehaviour.ANSWER_CONTAINS,
        expected_detail="5 to 7 business days",
        language=language,
    )


def test_the_training_data_languages_are_those_its_sources_declare(world) -> None:
    version = world.model()  # support-chats@1: Salesforce CRM (de, en) and Zendesk tickets (de, en, fr)

    assert training_languages(version) == ["de", "en", "fr"]
    assert languages_missing_from_validation(version) == ["de", "en", "fr"], "no case states its language"


def test_a_case_in_a_language_covers_it_and_its_regional_forms(world) -> None:
    version = world.model()
    english = case(world, world.suite, "LANG-EN", "EN")
    case(world, world.suite, "LANG-DE", "de-AT")

    assert english.language == "en"
    assert languages_missing_from_validation(version) == ["fr"]
    case(world, world.suite, "LANG-FR", "fr-CA")
    assert languages_missing_from_validation(version) == []


def test_the_suite_behind_the_latest_gate_decision_is_the_one_that_counts(world) -> None:
    version = world.model()
    case(world, world.suite, "LANG-EN", "en")
    world.gate(version)
    successor = validation_suite_new_version(suite=world.suite, actor=world["mleng"])
    case(world, successor, "LANG-FR", "fr")

    assert successor.cases.get(key="LANG-EN").language == "en", "a new suite version keeps its cases' languages"
    assert languages_missing_from_validation(version) == ["de", "fr"]


@pytest.mark.parametrize("language", ["english", "en_GB", "e" * 40])
def test_a_case_language_that_is_not_a_bcp47_tag_is_refused(world, language) -> None:
    with pytest.raises(ValidationError) as refused:
        case(world, world.suite, "LANG-XX", language)

    assert "language" in refused.value.message_dict
    assert not ValidationCase.objects.filter(key="LANG-XX").exists()


def test_only_those_who_write_suites_add_a_case_with_a_language(world) -> None:
    with pytest.raises(ActionDenied):
        case(world, world.suite, "LANG-EN", "en", actor="auditor")


def test_an_untested_language_is_a_missing_fact_that_keeps_the_version_out_of_production(world) -> None:
    version = world.model()
    case(world, world.suite, "LANG-EN", "en")

    languages = [f for f in model_version_completeness(version).facts if f.key == "model_version.language_tested"]
    assert [(fact.subject, fact.present) for fact in languages] == [
        (f"{version} / language de", False),
        (f"{version} / language en", True),
        (f"{version} / language fr", False),
    ]
    assert languages[0].owner_id == world["mleng"].pk, "the engineer who registered the version fills it"
    problems = [p for p in promotion_problems(version, Environment.PROD) if "language" in p]
    assert len(problems) == 2
    assert "language de" in problems[0]
    assert "language fr" in problems[1]

    case(world, world.suite, "LANG-DE", "de")
    case(world, world.suite, "LANG-FR", "fr")
    assert not [p for p in promotion_problems(version, Environment.PROD) if "language" in p]


def test_the_language_facts_of_many_versions_take_the_queries_of_one(world, django_assert_num_queries) -> None:
    first = world.model()
    more = [world.model() for _ in range(3)]
    world.gate(more[0])

    with CaptureQueriesContext(connection) as one:
        language_facts([first])
    with django_assert_num_queries(len(one)):
        facts = language_facts([first, *more])

    assert len(one) <= 5
    assert {len(found) for found in facts.values()} == {3}, "each version: de, en and fr"
