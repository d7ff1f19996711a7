"""A value of another JSON type than the schema gives its field is refused, not converted."""

import itertools
import re

import pytest
from rest_framework import serializers

from accounts.api.serializers import StrictSerializer, json_type_errors
from audit.models import LedgerEntry
from registry.api.serializers import PERCENTAGE_PATTERN, MonitoringSummaryIn
from registry.models import Incident

INCIDENT = {
    "use_case": "support-assistant",
    "title": "Refusal spike",
    "description": "Refusals tripled in the last hour.",
    "severity": "sev2",
}


class Shape(StrictSerializer):
    text = serializers.CharField(required=False)
    uuid = serializers.UUIDField(required=False)
    when = serializers.DateTimeField(required=False)
    rate = serializers.DecimalField(max_digits=5, decimal_places=2, required=False)
    kind = serializers.ChoiceField(choices=["a", "b"], required=False)
    count = serializers.IntegerField(required=False)
    flag = serializers.BooleanField(required=False)
    names = serializers.ListField(child=serializers.CharField(), required=False)
    labels = serializers.DictField(child=serializers.CharField(), required=False)
    anything = serializers.DictField(required=False)
    maybe = serializers.CharField(required=False, allow_null=True)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"text": 5}, "text"),
        ({"text": 5.5}, "text"),
        ({"uuid": 1053258712}, "uuid"),
        ({"uuid": "{0b5c1f4e-0a3f-4a43-9f2f-9a1e0d7d7d11}"}, "uuid"),
        ({"uuid": "0b5c1f4e0a3f4a439f2f9a1e0d7d7d11"}, "uuid"),
        ({"when": 0}, "when"),
        ({"rate": 5}, "rate"),
        ({"kind": 1}, "kind"),
        ({"kind": True}, "kind"),
        ({"count": "5"}, "count"),
        ({"count": True}, "count"),
        ({"flag": "true"}, "flag"),
        ({"flag": 1}, "flag"),
    ],
)
def test_a_value_of_another_json_type_is_a_field_error(data, field):
    given = Shape(data=data)

    assert not given.is_valid()
    assert list(given.errors) == [field]
    assert "Send " in given.errors[field][0]


def test_list_and_dict_items_are_checked_and_named_by_position():
    given = Shape(data={"names": ["a", 2, "c"], "labels": {"x": "y", "z": False}})

    assert not given.is_valid()
    assert given.errors == {
        "names": {1: ["Send text (a JSON string), not a number."]},
        "labels": {"z": ["Send text (a JSON string), not true or false."]},
    }


def test_values_of_the_right_type_pass_as_before():
    given = Shape(
        data={
            "text": "t",
            "uuid": "0b5c1f4e-0a3f-4a43-9f2f-9a1e0d7d7d11",
            "when": "2026-11-01T00:00:00Z",
            "rate": "12.50",
            "kind": "a",
            "count": 5.0,
            "flag": False,
            "names": ["a"],
            "labels": {"x": "y"},
            "anything": {"n": 1, "b": True},
            "maybe": None,
        }
    )

    assert given.is_valid(), given.errors
    assert given.validated_data["count"] == 5


def test_type_errors_come_with_the_other_fields_errors():
    given = Shape(data={"text": 5, "uuid": "not-a-uuid"})

    assert not given.is_valid()
    assert set(given.errors) == {"text", "uuid"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [("title", 5), ("severity", 1), ("use_case", 7), ("environment", True)],
)
def test_the_api_refuses_a_number_or_boolean_where_its_schema_says_text(world, issue, field, value):
    pipeline = issue()
    entries = LedgerEntry.objects.count()

    response = pipeline.post("/api/v1/incidents", {**INCIDENT, field: value})

    assert response.status_code == 400
    assert response.json()["errors"][field] == [
        f"Send text (a JSON string), not {'true or false' if value is True else 'a number'}."
    ]
    assert (Incident.objects.count(), LedgerEntry.objects.count()) == (0, entries)


@pytest.mark.django_db
def test_the_api_refuses_text_where_its_schema_says_a_number_or_boolean(world, issue):
    pipeline = issue()

    version = pipeline.post(
        "/api/v1/dataset-versions",
        {
            "dataset": "support-chats",
            "content_digest": "sha256:" + "a" * 64,
            "row_count": "5",
            "size_bytes": 1,
            "storage_uri": "s3://x",
            "sources": [{"source_system": "crm", "legal_basis": "contract", "special_category": "false"}],
        },
    )

    assert version.status_code == 400
    assert version.json()["errors"] == {
        "row_count": ["Send a whole number (a JSON integer), not text."],
        "sources[0].special_category": ["Send true or false (a JSON boolean), not text."],
    }


def test_a_rate_takes_exactly_the_texts_its_schema_pattern_describes():
    rate = MonitoringSummaryIn().fields["refusal_rate"]
    pattern = re.compile(PERCENTAGE_PATTERN)
    disagreements = []
    for length in range(1, 6):
        for characters in itertools.product("-0159.", repeat=length):
            text = "".join(characters)
            taken = not json_type_errors(rate, text)
            if taken:
                try:
                    rate.run_validation(text)
                except serializers.ValidationError:
                    taken = False
            if taken != bool(pattern.match(text)):
                disagreements.append(text)

    assert not disagreements
    assert json_type_errors(rate, " 5") == [
        'Send a decimal number as text of digits and a point (a JSON string such as "12.5").'
    ]
    assert json_type_errors(rate, 5) is not None
