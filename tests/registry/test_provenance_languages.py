"""A language present in the training data but tested by no validation case is a completeness gap: the languages
the training data's sources declare, against those of the cases in the suite behind the latest gate decision (or,
before any, the use case's latest suites); a case in a language covers its regional forms."""

import pytest
from django.core.exceptions import ValidationError

from audit.ledger import ActionDenied
from governance.choices import EvaluationDimension
from registry.choices import ExpectedBehaviour, ValidationCategory
from registry.models import ValidationCase
from registry.provenance_languages import languages_missing_from_validation, training_languages
from registry.services.validation import validation_case_add, validation_suite_new_version

pytestmark = pytest.mark.django_db


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
