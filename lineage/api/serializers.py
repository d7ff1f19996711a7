"""The shapes of the lineage API's requests and answers."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.parsers import MAX_SAFE_INTEGER
from accounts.api.serializers import StrictSerializer
from lineage.choices import Article9Condition, DataCategory, PrivacyControl, Sensitivity
from lineage.models.synthetic import MAX_LANGUAGES, clean_languages

#: The largest retention the record's column holds.
MAX_RETENTION_DAYS = 2**31 - 1


#: The schema's form of ``LANGUAGE_TAG`` (which matches without regard to case): the same tags, spelt out in both cases.
LANGUAGE_TAG_PATTERN = (
    r"^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?(-([A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*$"
)


@extend_schema_field({"type": "string", "maxLength": 35, "pattern": LANGUAGE_TAG_PATTERN})
class LanguageTag(serializers.CharField):
    """A BCP 47 tag; the schema's pattern says which texts are tags, ``clean_languages`` normalises them."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=35, **kwargs)


#: What a synthetic share takes: more than 0 and at most 1, with at most four decimals, as text ("0.25").
SYNTHETIC_SHARE_PATTERN = r"^(?:1(?:\.0{0,4})?|0?\.(?:[1-9][0-9]{0,3}|0[1-9][0-9]{0,2}|00[1-9][0-9]?|000[1-9]))$"


@extend_schema_field({"type": "string", "format": "decimal", "pattern": SYNTHETIC_SHARE_PATTERN})
class SyntheticShare(serializers.DecimalField):
    """A share of the dataset, as text; the schema's pattern says exactly which texts it takes."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=5, decimal_places=4, **kwargs)


@extend_schema_field({"type": "string", "maxLength": 64, "pattern": r"^([0-9A-Fa-f]{64})?$"})
class PromptTemplateDigest(serializers.CharField):
    """A SHA-256 in hex, or nothing for data no model generated."""


class LineageSourceIn(StrictSerializer):
    source_system = serializers.CharField(max_length=200, help_text="The source system's name.")
    legal_basis = serializers.CharField(max_length=40)
    special_category = serializers.BooleanField(required=False, default=False)
    article9_condition = serializers.CharField(required=False, default=Article9Condition.NONE, allow_blank=True)
    period_start = serializers.DateField(required=False, allow_null=True, default=None)
    period_end = serializers.DateField(required=False, allow_null=True, default=None)
    extract = serializers.CharField(required=False, default="", allow_blank=True)
    languages = serializers.ListField(
        child=LanguageTag(),
        required=False,
        default=list,
        max_length=MAX_LANGUAGES,
        help_text='BCP 47 tags of the languages the data is written in, e.g. ["en", "de-CH"].',
    )
    synthetic = serializers.BooleanField(required=False, default=False, help_text="Data a model generated.")
    generator_model = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    generator_version = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    prompt_template_digest = PromptTemplateDigest(
        max_length=64, required=False, default="", allow_blank=True, help_text="SHA-256 of the prompt template."
    )
    synthetic_share = SyntheticShare(
        required=False,
        allow_null=True,
        default=None,
        help_text="The fraction of the version's rows that are synthetic: more than 0, at most 1.",
    )

    def validate_languages(self, value: list[str]) -> list[str]:
        return clean_languages(value)


class LineageRecordIn(StrictSerializer):
    """The version's lineage record: the fields given are set, the others keep their defaults."""

    refuses_unknown_fields = True

    sensitivity = serializers.ChoiceField(choices=Sensitivity.choices, required=False)
    data_categories = serializers.ListField(child=serializers.ChoiceField(choices=DataCategory.choices), required=False)
    consent_scope = serializers.CharField(max_length=300, required=False, allow_blank=True)
    retention_days = serializers.IntegerField(
        min_value=0, max_value=MAX_RETENTION_DAYS, required=False, allow_null=True
    )
    retention_basis = serializers.CharField(max_length=300, required=False, allow_blank=True)
    privacy_controls = serializers.ListField(
        child=serializers.ChoiceField(choices=PrivacyControl.choices), required=False
    )
    dpia_reference = serializers.CharField(max_length=100, required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)


class DatasetVersionIn(StrictSerializer):
    dataset = serializers.SlugField(max_length=80)
    content_digest = serializers.CharField(max_length=100)
    row_count = serializers.IntegerField(min_value=0, max_value=MAX_SAFE_INTEGER)
    size_bytes = serializers.IntegerField(min_value=0, max_value=MAX_SAFE_INTEGER)
    storage_uri = serializers.CharField(max_length=1000)
    sampling_method = serializers.CharField(required=False, default="", allow_blank=True)
    filters = serializers.CharField(required=False, default="", allow_blank=True)
    lineage = LineageRecordIn(required=False, default=dict)
    sources = LineageSourceIn(many=True, required=False, default=list)
    parents = serializers.ListField(child=serializers.CharField(max_length=200), required=False, default=list)


class DatasetVersionOut(serializers.Serializer):
    id = serializers.IntegerField()
    identifier = serializers.CharField()
    state = serializers.CharField()
    content_digest = serializers.CharField()
