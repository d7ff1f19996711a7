"""The intake's fast path changes nothing an auditor can see: the lean leaf encoder gives the RFC 8785 bytes, the
sealed roots are those the general canonical JSON gives over the stored records, one request costs the same
few queries however many spans it carries, and the leaner table (no foreign-key constraints, one index per lookup)
still keeps a batch's records from losing their batch."""

import datetime
import hashlib
import json

import pytest
from django.contrib import admin
from django.db import connection
from django.db.models import ProtectedError
from django.test.utils import CaptureQueriesContext

from audit import merkle
from audit.canonical import canonical_bytes
from inference.admin import InferenceRecordAdmin
from inference.models import InferenceBatch, InferenceRecord
from inference.proofs import leaf_bytes, leaf_document, record_is_proven
from inference.record_rows import COPY_COLUMNS
from inference.selectors import records_for_answer, records_for_identifier
from tests.inference.conftest import ANSWER, genai_attributes, post, two_versions_in_prod

pytestmark = pytest.mark.django_db

AWKWARD = [
    "plain",
    'quote " backslash \\ slash / tab \t newline \n return \r',
    "controls \x00\x01\x08\x0b\x0c\x1f and DEL \x7f",
    "non-ASCII: é ß 中文 emoji 😀 line separator \u2028 paragraph \u2029",
    "",
]


@pytest.mark.parametrize("text", AWKWARD)
def test_the_lean_leaf_encoder_gives_the_rfc_8785_bytes(text):
    document = {
        "z_text": text,
        "a_number": 2**31 - 1,
        "m_none": None,
        "b_flag": True,
        "c_list": [text, "stop"],
        "A_upper": "sorted before lower case",
        "started_at": "2026-12-05T07:00:00.123456Z",
    }

    assert leaf_bytes(document) == canonical_bytes(document)


def test_the_lean_leaf_encoder_writes_every_code_point_as_the_standard_library_does():
    """orjson writes the leaves; the standard library's encoder wrote them before. Every character (lone surrogates
    aside, which no span can carry) comes out the same, so no record sealed before the change proves differently."""
    standard = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for first in range(0, 0x110000, 0x1000):
        text = "".join(chr(point) for point in range(first, first + 0x1000) if not 0xD800 <= point <= 0xDFFF)
        document = {"text": text, "list": [text[:40], ""], "count": 7, "none": None}
        assert leaf_bytes(document) == standard.encode(document).encode(), hex(first)


def test_a_lone_surrogate_is_refused_as_before():
    with pytest.raises(UnicodeEncodeError):
        leaf_bytes({"text": "\ud800"})


def test_the_sealed_root_is_the_canonical_json_root_of_the_stored_records(intake, world, spans, settings):
    settings.INFERENCE_EXCERPT_USE_CASES = [world.use_case.slug]
    made = spans()
    for number, text in enumerate(AWKWARD[:4]):
        made.add(
            **genai_attributes(
                prompt=text.replace("\x00", "") or "empty",
                answer=f"answer {number}: {text.replace(chr(0), '')}",
                **{"gen_ai.response.id": f"awkward-{number}", "portal.prompt_category": text[:5].replace("\x00", "")},
            )
        )
    made.add(**genai_attributes(prompt=None, answer=None, **{"gen_ai.response.id": "no-texts"}))

    assert post(intake, made.protobuf()).status_code == 200

    batch = InferenceBatch.objects.get()
    records = list(InferenceRecord.objects.filter(batch=batch).order_by("position"))
    general = merkle.root([hashlib.sha256(canonical_bytes(leaf_document(record))).digest() for record in records])
    assert (batch.record_count, batch.merkle_root) == (5, general.hex())
    assert all(record_is_proven(record) for record in records)
    assert any(record.prompt_excerpt for record in records)


def _spans_request(spans, count: int, version: str = "") -> bytes:
    made = spans()
    for number in range(count):
        made.add(**genai_attributes(version, **{"gen_ai.response.id": f"r{count}-{number}"}))
    return made.protobuf()


@pytest.mark.parametrize("naming_the_live_version", [False, True])
def test_one_request_costs_the_same_queries_for_one_span_and_for_two_hundred(
    intake, world, spans, naming_the_live_version
):
    version = two_versions_in_prod(world)[1].identifier if naming_the_live_version else ""
    post(intake, _spans_request(spans, 3, version))  # a token's, a use case's and a month's first request warms caches
    counted = []
    for count in (1, 200):
        body = _spans_request(spans, count, version)
        with CaptureQueriesContext(connection) as queries:
            assert post(intake, body).status_code == 200
        counted.append(len(queries))

    assert InferenceRecord.objects.count() == 204
    assert counted[0] == counted[1]


@pytest.mark.postgres(reason="the partitioned table's own catalogue")
def test_the_record_table_has_no_foreign_key_to_check_at_commit_and_one_small_index_per_lookup(intake, spans):
    assert post(intake, _spans_request(spans, 3)).status_code == 200

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conrelid IN "
            "(SELECT relid FROM pg_partition_tree('inference_inferencerecord'::regclass))"
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'inference_inferencerecord'")
        indexes = {row[0] for row in cursor.fetchall()}
    assert indexes == {
        "inference_inferencerecord_pkey",
        "inference_record_span_unique",
        "inference_batch_idx",
        "inference_response_hash",
        "inference_conversation_idx",
        "inference_answer_hash",
        "inference_started_idx",
        "inference_escalated_idx",
    }


@pytest.mark.postgres(reason="the partitioned table's own catalogue")
def test_the_response_and_answer_indexes_are_hash_indexes_of_the_set_values_only(intake, spans):
    assert post(intake, _spans_request(spans, 2)).status_code == 200

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'inference_inferencerecord' "
            "AND indexname IN ('inference_response_hash', 'inference_answer_hash')"
        )
        definitions = dict(cursor.fetchall())
    assert "USING hash (response_id) WHERE" in definitions["inference_response_hash"]
    assert "USING hash (answer_hmac) WHERE" in definitions["inference_answer_hash"]


@pytest.mark.postgres(reason="PostgreSQL's plans")
def test_every_lookup_of_records_reads_an_index_never_every_record(intake, spans, rf):
    """Among millions of records a lookup that reads them all would take minutes: with sequential scans priced out,
    each way a complaint finds its answer, a rollup reads its period and the admin lists the newest is still planned
    without one, so an index can serve it."""
    assert post(intake, _spans_request(spans, 3)).status_code == 200
    record = InferenceRecord.objects.first()
    admin_search = InferenceRecordAdmin(InferenceRecord, admin.site).get_search_results
    lookups = {
        "response id": records_for_identifier(record.response_id),
        "trace id": records_for_identifier(record.trace_id.upper()),
        "answer": records_for_answer(ANSWER),
        "admin search": admin_search(rf.get("/"), InferenceRecord.objects.all(), record.response_id)[0],
        "a rollup's period": InferenceRecord.objects.filter(
            use_case_id=record.use_case_id,
            environment=record.environment,
            started_at__gte=record.started_at - datetime.timedelta(days=1),
            started_at__lt=record.started_at + datetime.timedelta(days=1),
        ),
    }
    newest = InferenceRecord.objects.order_by("-started_at", "-id")[:100]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    for name, lookup in lookups.items():
        assert record in lookup, name
        assert "Seq Scan" not in lookup.explain(), name
    # The admin's list and an incident's citations: the newest read off the index, not every record sorted.
    assert record in newest
    assert "Index Scan Backward using" in newest.explain()


def test_a_batch_with_records_cannot_be_deleted_though_no_database_constraint_holds_them(intake, spans):
    """The ORM's ``PROTECT`` still stands where the database checks nothing: a batch's records keep their batch."""
    assert post(intake, _spans_request(spans, 2)).status_code == 200

    with pytest.raises(ProtectedError):
        InferenceBatch.objects.get().delete()
    assert InferenceRecord.objects.count() == 2


def test_the_copy_writes_every_column_of_a_record_but_its_id():
    """A column added to the model and forgotten in the ``COPY`` would be left to its default on every record."""
    columns = {field.column for field in InferenceRecord._meta.concrete_fields if not field.primary_key}

    assert len(COPY_COLUMNS) == len(set(COPY_COLUMNS)) == len(columns)
    assert set(COPY_COLUMNS) == columns
