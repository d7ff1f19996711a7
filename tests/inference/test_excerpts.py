"""Redacted excerpts: kept only for use cases allowed them, and masked before anything is written (card numbers
that pass the Luhn check, e-mail addresses, phone numbers and what the use case's requirements say to redact)."""

import pytest

from governance.choices import ConstraintKind, RequirementsState
from governance.models import BehaviorConstraint, RequirementsDocument
from inference.models import InferenceRecord
from inference.proofs import record_is_proven
from inference.redaction import CARD, EMAIL, PHONE, REDACTED, excerpt_policy, luhn_valid, masked
from tests.inference.conftest import genai_attributes, post

pytestmark = pytest.mark.django_db

PROMPT = (
    "Card 4111 1111 1111 1111 charged twice, ref 4111 1111 1111 1112; write to jane.doe@example.com "
    "or call +44 20 7946 0958 about account ACC-00412345 and IBAN DE89 3704 0044 0532 0130 00 on 2026-12-05."
)


def test_luhn_valid_card_numbers_e_mails_and_phone_numbers_are_masked_and_other_numbers_kept():
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert masked("card 4111-1111-1111-1111, 5500 0000 0000 0004 paid") == f"card {CARD}, {CARD} paid"
    assert masked("mail jane.doe@example.com") == f"mail {EMAIL}"
    assert masked("call (020) 7946 0958 or +1-212-555-0123") == f"call {PHONE} or {PHONE}"
    assert masked("invoice 8812 of 2026-12-05,\n 3 items") == "invoice 8812 of 2026-12-05, 3 items"


def approved_requirements(world, *statements: str) -> None:
    """The use case's approved requirements gain ``redact`` constraints."""
    document = RequirementsDocument.objects.get(use_case=world.use_case, state=RequirementsState.APPROVED)
    for position, statement in enumerate(statements, start=100):
        BehaviorConstraint.objects.create(
            document=document, position=position, statement=statement, kind=ConstraintKind.REDACT
        )


def send(intake, spans, prompt: str = PROMPT, answer: str = "Refund sent to jane.doe@example.com.") -> None:
    made = spans()
    made.add(**genai_attributes(prompt=prompt, answer=answer))
    assert post(intake, made.protobuf()).status_code == 200


def test_a_use_case_allowed_excerpts_keeps_them_masked_by_its_redaction_constraints(intake, world, spans, settings):
    settings.INFERENCE_EXCERPT_USE_CASES = [world.use_case.slug]
    approved_requirements(world, r"Redact account numbers /ACC-\d{8}/.", "Redact IBANs in every answer.")

    send(intake, spans)

    record = InferenceRecord.objects.get()
    assert record.prompt_excerpt == (
        f"Card {CARD} charged twice, ref 4111 1111 1111 1112; write to {EMAIL} or call {PHONE} about account "
        f"{REDACTED} and IBAN {REDACTED} on 2026-12-05."
    )
    for secret in ("4111 1111 1111 1111 ", "jane.doe", "7946", "ACC-0041", "DE89"):
        assert secret not in record.prompt_excerpt
        assert secret not in record.answer_excerpt
    assert record.answer_excerpt == f"Refund sent to {EMAIL}."
    assert record_is_proven(record)
    InferenceRecord.objects.filter(pk=record.pk).update(answer_excerpt="Refund sent to you.")
    assert not record_is_proven(InferenceRecord.objects.get())


def test_excerpts_are_cut_after_masking(intake, world, spans, settings):
    settings.INFERENCE_EXCERPT_USE_CASES = [world.use_case.slug]
    settings.INFERENCE_EXCERPT_CHARS = 20

    send(intake, spans, prompt="Mail me at jane.doe@example.com please, it is urgent")

    assert InferenceRecord.objects.get().prompt_excerpt == f"Mail me at {EMAIL}"


def test_a_use_case_not_allowed_excerpts_keeps_none(intake, world, spans):
    send(intake, spans)

    assert InferenceRecord.objects.values_list("prompt_excerpt", "answer_excerpt").get() == ("", "")


def test_a_redaction_constraint_that_does_not_compile_keeps_any_excerpt_out(world, settings):
    settings.INFERENCE_EXCERPT_USE_CASES = [world.use_case.slug]
    approved_requirements(world, "Redact order numbers /ORD-(\\d+/.")

    policy = excerpt_policy(world.use_case)

    assert not policy.allowed
    assert policy.excerpt(PROMPT) == ""
