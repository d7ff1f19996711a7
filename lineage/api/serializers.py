"""The shapes of the lineage API's requests and answers."""

from typing import Any

from rest_framework import serializers

from accounts.api.parsers import MAX_SAFE_INTEGER
from accounts.api.serializers import StrictSerializer
from lineage.choices import Article9Condition
from lineage.services import RECORD_FIELDS


class LineageSourceIn(StrictSerializer):
    source_system = serializers.CharField(max_length=200, help_text="The source system's name.")
    legal_basis = serializers.CharField(max_length=40)
    special_category = serializers.BooleanField(required=False, default=False)
    article9_condition = serializers.CharField(required=False, default=Article9Condition.NONE, allow_blank=True)
    period_start = serializers.DateField(required=False, allow_null=True, default=None)
    period_end = serializers.DateField(required=False, allow_null=True, default=None)
    extract = serializers.CharField(required=False, default="", allow_blank=True)


class DatasetVersionIn(StrictSerializer):
    dataset = serializers.SlugField(max_length=80)
    content_digest = serializers.CharField(max_length=100)
    row_count = serializers.IntegerField(min_value=0, max_value=MAX_SAFE_INTEGER)
    size_bytes = serializers.IntegerField(min_value=0, max_value=MAX_SAFE_INTEGER)
    storage_uri = serializers.CharField(max_length=1000)
    sampling_method = serializers.CharField(required=False, default="", allow_blank=True)
    filters = serializers.CharField(required=False, default="", allow_blank=True)
    lineage = serializers.DictField(
        required=False, default=dict, help_text=f"Lineage record fields: {', '.join(RECORD_FIELDS)}."
    )
    sources = LineageSourceIn(many=True, required=False, default=list)
    parents = serializers.ListField(child=serializers.CharField(max_length=200), required=False, default=list)

    def validate_lineage(self, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - set(RECORD_FIELDS))
        if unknown:
            raise serializers.ValidationError(
                f"Unknown lineage fields: {', '.join(unknown)}. Known: {', '.join(RECORD_FIELDS)}."
            )
        return value


class DatasetVersionOut(serializers.Serializer):
    id = serializers.IntegerField()
    identifier = serializers.CharField()
    state = serializers.CharField()
    content_digest = serializers.CharField()
