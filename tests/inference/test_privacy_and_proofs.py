"""Private by design and tamper-evident: no prompt or answer text in the database, answers found by their HMAC
under old and new keys, and every record proven into its batch's ledger entry."""

import hashlib
import hmac
import re
import sys
import unicodedata

import pytest
from django.db import connection

from inference.keys import normalised
from inference.models import InferenceBatch, InferenceRecord
from inference.proofs import batch_root, record_is_proven, record_proof
from inference.selectors import records_for_answer, records_for_identifier
from tests.inference.conftest import ANSWER, PROMPT, genai_attributes, post

pytestmark = pytest.mark.django_db

SECRET_PROMPT = "Unique prompt 7f3a: my IBAN DE89 3704 0044 0532 0130 00 and my address is 12 Elm Street"
SECRET_ANSWER = "Unique answer 9c1b: I have noted IBAN DE89 3704 0044 0532 0130 00 for the refund."
END_USER = "customer-unique-5521@example.com"


def every_stored_value() -> list[tuple[str, str, object]]:
    """Every value of every column of every table, as ``(table, column, value)``."""
    values = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - a table name
            columns = [column[0] for column in cursor.description]
            values.extend(
                (table, column, value) for row in cursor.fetchall() for column, value in zip(columns, row, strict=True)
            )
    return values


def test_the_prompt_the_answer_and_the_end_user_reach_no_table(intake, world, spans):
    made = spans()
    made.add(**genai_attributes(prompt=SECRET_PROMPT, answer=SECRET_ANSWER, **{"portal.end_user": END_USER}))

    assert post(intake, made.protobuf()).status_code == 200

    assert InferenceRecord.objects.count() == 1
    needles = ("Unique prompt 7f3a", "Unique answer 9c1b", "DE89 3704", END_USER)
    found = []
    for table, column, value in every_stored_value():
        if isinstance(value, memoryview | bytes | bytearray):
            value = bytes(value).decode("utf-8", "replace")
        if isinstance(value, str) and any(needle in value for needle in needles):
            found.append((table, column))
    assert found == []


def test_a_pasted_answer_finds_its_record_even_with_changed_line_breaks(intake, world, spans):
    made = spans()
    made.add(**genai_attributes(answer=SECRET_ANSWER, **{"gen_ai.response.id": "chatcmpl-secret"}))
    made.add(**genai_attributes(**{"gen_ai.response.id": "chatcmpl-other"}))
    post(intake, made.protobuf())

    pasted = SECRET_ANSWER.replace(" for the ", "\n for the\n ")
    assert [record.response_id for record in records_for_answer(pasted)] == ["chatcmpl-secret"]
    assert not records_for_answer("An answer the model never gave.").exists()
    record = InferenceRecord.objects.get(response_id="chatcmpl-secret")
    assert list(records_for_identifier("chatcmpl-secret")) == [record]
    assert list(records_for_identifier(record.trace_id.upper())) == [record]


def test_answers_written_under_a_retired_key_are_still_found_after_rotation(intake, world, spans, settings):
    settings.INFERENCE_HMAC_KEYS = {"2026-06": "o" * 32}
    settings.INFERENCE_HMAC_KEY_ID = "2026-06"
    made = spans()
    made.add(**genai_attributes(answer="Written under the old key.", **{"gen_ai.response.id": "old"}))
    post(intake, made.protobuf())

    settings.INFERENCE_HMAC_KEYS = {"2026-06": "o" * 32, "2026-12": "n" * 32}
    settings.INFERENCE_HMAC_KEY_ID = "2026-12"
    made = spans()
    made.add(**genai_attributes(answer="Written under the new key.", **{"gen_ai.response.id": "new"}))
    post(intake, made.protobuf())

    assert dict(InferenceRecord.objects.values_list("response_id", "hmac_key_id")) == {
        "old": "2026-06",
        "new": "2026-12",
    }
    assert [record.response_id for record in records_for_answer("Written under the old key.")] == ["old"]
    assert [record.response_id for record in records_for_answer("Written under the new key.")] == ["new"]


def test_every_record_proves_into_the_root_its_batch_sealed_in_the_ledger(intake, world, spans):
    made = spans()
    for number in range(7):
        made.add(**genai_attributes(**{"gen_ai.response.id": f"r{number}"}))
    post(intake, made.protobuf())

    batch = InferenceBatch.objects.get()
    for record in batch.records.all():
        proof = record_proof(record)
        assert proof.holds()
        assert (proof.tree_size, proof.root.hex(), proof.ledger_sequence) == (
            7,
            batch.merkle_root,
            batch.ledger_sequence,
        )


@pytest.mark.parametrize(
    ("field", "value"),
    [("response_classification", "fail"), ("prompt_category", "changed"), ("answer_hmac", "0" * 64), ("position", 99)],
)
def test_a_record_altered_in_the_database_fails_its_proof(intake, world, spans, field, value):
    made = spans()
    for number in range(5):
        made.add(**genai_attributes(**{"gen_ai.response.id": f"r{number}"}))
    post(intake, made.protobuf())
    target = InferenceRecord.objects.get(response_id="r2")
    InferenceRecord.objects.filter(pk=target.pk).update(**{field: value})

    assert not record_is_proven(InferenceRecord.objects.get(pk=target.pk))


def test_a_batch_root_rewritten_in_its_row_does_not_fool_the_proof(intake, world, spans):
    made = spans()
    made.add(**genai_attributes())
    post(intake, made.protobuf())
    record = InferenceRecord.objects.get()
    InferenceRecord.objects.filter(pk=record.pk).update(output_tokens=1)
    InferenceBatch.objects.filter(pk=record.batch_id).update(merkle_root=batch_root([InferenceRecord.objects.get()]))

    assert not record_is_proven(InferenceRecord.objects.get())


def test_the_prompt_hmac_is_the_keyed_digest_of_the_user_message(intake, world, spans, settings):
    made = spans()
    made.add(**genai_attributes())
    post(intake, made.protobuf())

    key = settings.INFERENCE_HMAC_KEYS[settings.INFERENCE_HMAC_KEY_ID].encode()
    record = InferenceRecord.objects.get()
    assert record.prompt_hmac == hmac.new(key, PROMPT.encode(), hashlib.sha256).hexdigest()
    assert record.answer_hmac == hmac.new(key, ANSWER.encode(), hashlib.sha256).hexdigest()


def test_normalising_is_nfc_and_single_spaces_for_every_kind_of_whitespace() -> None:
    """Pasted text is normalised as it was when records were first written (NFC, then ``\\s+`` as one space,
    stripped), so answers hashed before the faster normalisation still match: every character Python counts as
    whitespace, between and around composed and decomposed letters."""
    whitespace = [chr(code) for code in range(sys.maxunicode + 1) if re.fullmatch(r"\s", chr(code))]
    assert len(whitespace) > 20
    as_first_written = lambda text: re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()  # noqa: E731
    for space in whitespace:
        for text in (f"{space}Caf\u0065\u0301{space}{space}ok{space}", f"refund{space}\n is on{space}its way", space):
            assert normalised(text) == as_first_written(text), repr(space)
