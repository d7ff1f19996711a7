"""The shapes of the registry API's requests and answers. A serializer checks the shape only: the records it
names are found by the views and the rules are the services'."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from accounts.api.exceptions import UNKNOWN_RECORD
from accounts.api.parsers import MAX_SAFE_INTEGER
from accounts.api.serializers import StrictSerializer
from registry.choices import ChangeRisk, Environment, IncidentSeverity, IncidentSource
from registry.models import BaseModel
from registry.services.validation import ResultInput


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer"},
            {
                "type": "object",
                "properties": {
                    "provider": {"type": "string"},
                    "name": {"type": "string"},
                    "version": {"type": "string"},
                },
                "required": ["provider", "name", "version"],
            },
        ]
    }
)
class BaseModelField(serializers.Field):
    """A base model by id, or by ``{"provider": ..., "name": ..., "version": ...}``."""

    default_error_messages = {"invalid": "Give the base model's id or its provider, name and version."}

    def to_internal_value(self, data: Any) -> BaseModel:
        if isinstance(data, int) and not isinstance(data, bool):
            found = BaseModel.objects.filter(pk=data).first()
        elif isinstance(data, dict) and all(isinstance(data.get(key), str) for key in ("provider", "name", "version")):
            found = BaseModel.objects.filter(
                provider=data["provider"], name=data["name"], version=data["version"]
            ).first()
        else:
            self.fail("invalid")
        if found is None:
            raise serializers.ValidationError(f"No base model {data!r}; register it first.", code=UNKNOWN_RECORD)
        return found

    def to_representation(self, value: BaseModel) -> str:
        return str(value)


class TrainingRunIn(StrictSerializer):
    run_id = serializers.CharField(max_length=200)
    use_case = serializers.SlugField()
    base_model = BaseModelField()
    dataset_versions = serializers.ListField(child=serializers.CharField(max_length=200), min_length=1, max_length=500)
    code_repository = serializers.CharField(max_length=500)
    code_commit = serializers.CharField(max_length=64)
    config = serializers.DictField()
    hyperparameters = serializers.DictField(required=False, default=dict)
    random_seeds = serializers.DictField(required=False, default=dict)
    hardware = serializers.CharField(max_length=200)
    container_image_digest = serializers.CharField(max_length=100)
    library_versions = serializers.DictField(required=False, default=dict)
    decision_log = serializers.CharField()
    config_hash = serializers.CharField(max_length=64, required=False, default="")
    started_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class TrainingRunOut(serializers.Serializer):
    id = serializers.IntegerField()
    run_id = serializers.CharField()
    use_case = serializers.SlugField(source="use_case.slug")
    status = serializers.CharField()
    config_hash = serializers.CharField()
    output_weights_digest = serializers.CharField()


class TrainingRunCompleteIn(StrictSerializer):
    output_weights_digest = serializers.CharField(max_length=64)
    metrics = serializers.DictField(required=False, default=dict)
    checkpoints = serializers.ListField(required=False, default=list)
    finished_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class ModelVersionIn(StrictSerializer):
    training_run = serializers.CharField(max_length=200, help_text="The run's run_id.")
    name = serializers.SlugField(max_length=100)
    description = serializers.CharField(required=False, default="", allow_blank=True)


class ModelVersionOut(serializers.Serializer):
    id = serializers.IntegerField()
    identifier = serializers.CharField()
    name = serializers.CharField()
    number = serializers.IntegerField()
    use_case = serializers.SlugField(source="use_case.slug")
    weights_digest = serializers.CharField()


#: A result's fields and the types they may have: checked by hand, because a serializer per result is too slow
#: for the tens of thousands of results one run reports.
RESULT_FIELDS: dict[str, tuple[type, ...]] = {
    "case": (str,),
    "outcome": (str,),
    "attempt": (int,),
    "score": (int, float, str, type(None)),
    "output_excerpt": (str,),
    "human_reviewer": (str,),
    "note": (str,),
}


MAX_RESULT_ERRORS = 50


#: The largest attempt number the results table holds.
MAX_ATTEMPT = 2**31 - 1


def parse_results(raw: Any) -> list[ResultInput]:
    """The results as the service takes them; shape errors name the result, as the service's own errors do."""
    if not isinstance(raw, list) or not raw:
        raise ValidationError({"results": ["Give the results as a non-empty list of objects."]})
    results, errors = [], []
    allowed = set(RESULT_FIELDS)
    for index, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            errors.append(f"Result {index}: must be an object.")
        else:
            problems = [f"unknown field {name!r}" for name in item if name not in allowed]
            for field in ("case", "outcome"):
                if field not in item:
                    problems.append(f"{field} is required")
            for name, kinds in RESULT_FIELDS.items():
                value = item.get(name)
                if name in item and (not isinstance(value, kinds) or isinstance(value, bool)):
                    problems.append(f"{name} has the wrong type")
            if isinstance(item.get("attempt"), int) and item["attempt"] > MAX_ATTEMPT:
                problems.append(f"attempt is above {MAX_ATTEMPT}")
            if problems:
                errors.append(f"Result {index}: {'; '.join(problems)}.")
            else:
                results.append(ResultInput(**item))
        if len(errors) >= MAX_RESULT_ERRORS:
            errors.append("... and possibly more; fix these first.")
            break
    if errors:
        raise ValidationError({"results": errors})
    return results


class ValidationRunIn(StrictSerializer):
    """``results`` is a list of ``{"case", "outcome", "attempt", "score", "output_excerpt", "human_reviewer",
    "note"}`` objects (case and outcome required)."""

    model_version = serializers.CharField(max_length=200)
    suite = serializers.SlugField(max_length=80)
    suite_version = serializers.IntegerField(required=False, min_value=1, help_text="Default: the latest version.")
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    executed_by = serializers.CharField(required=False, default="", allow_blank=True, max_length=200)
    results = serializers.ListField(child=serializers.DictField(), min_length=1)


class ValidationRunOut(serializers.Serializer):
    id = serializers.IntegerField()
    model_version = serializers.CharField(source="model_version.identifier")
    suite = serializers.CharField(source="suite.slug")
    suite_version = serializers.IntegerField(source="suite.version")
    result_count = serializers.IntegerField()
    results_digest = serializers.CharField()


class GateDecisionOut(serializers.Serializer):
    id = serializers.IntegerField()
    model_version = serializers.CharField(source="model_version.identifier")
    validation_run = serializers.IntegerField(source="validation_run_id")
    outcome = serializers.CharField()
    human_decision = serializers.CharField()
    threshold_revision = serializers.IntegerField(source="threshold_policy.revision")
    figures = serializers.JSONField()
    decided_at = serializers.DateTimeField()


class GateCheckOut(serializers.Serializer):
    model_version = serializers.CharField()
    environment = serializers.CharField()
    allowed = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())
    change_ticket = serializers.CharField(allow_null=True)


class ChangeTicketIn(StrictSerializer):
    model_version = serializers.CharField(max_length=200)
    environment = serializers.ChoiceField(choices=Environment.choices, help_text="test, staging or prod")
    risk_level = serializers.ChoiceField(choices=ChangeRisk.choices)
    risk_assessment = serializers.CharField()
    rollback_plan = serializers.CharField()
    external_reference = serializers.CharField(required=False, default="", allow_blank=True, max_length=200)
    submit = serializers.BooleanField(required=False, default=False, help_text="Send for signatures at once.")


class ChangeTicketOut(serializers.Serializer):
    id = serializers.IntegerField()
    identifier = serializers.CharField()
    model_version = serializers.CharField(source="model_version.identifier")
    environment = serializers.CharField()
    state = serializers.CharField()
    required_roles = serializers.ListField(child=serializers.CharField())


class DeploymentOut(serializers.Serializer):
    use_case = serializers.SlugField()
    environment = serializers.CharField()
    current_version = serializers.CharField(allow_null=True)
    current_weights_digest = serializers.CharField(allow_null=True)
    previous_stable_version = serializers.CharField(allow_null=True)
    kill_switch_engaged = serializers.BooleanField()
    kill_switch_reason = serializers.CharField()


#: What a rate field takes: 0 to 100 with at most two decimals (leading zeros, and "-0" for 0, included).
PERCENTAGE_PATTERN = (
    r"^(?:-(?:0+(?:\.0{0,2})?|\.0{1,2})|0*(?:[0-9]{1,2}(?:\.[0-9]{0,2})?|100(?:\.0{0,2})?|\.[0-9]{1,2}))$"
)


@extend_schema_field({"type": "string", "format": "decimal", "pattern": PERCENTAGE_PATTERN})
class Percentage(serializers.DecimalField):
    """A rate in percent, as text ("12.5"); the schema's pattern says exactly which texts it takes."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=5, decimal_places=2, min_value=0, max_value=100, **kwargs)


class MonitoringSummaryIn(StrictSerializer):
    use_case = serializers.SlugField()
    environment = serializers.ChoiceField(choices=Environment.choices)
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    volume = serializers.IntegerField(min_value=0, max_value=MAX_SAFE_INTEGER)
    policy_violation_rate = Percentage()
    refusal_rate = Percentage()
    escalation_rate = Percentage()
    human_override_rate = Percentage()


class MonitoringSummaryOut(serializers.Serializer):
    id = serializers.IntegerField()
    model_version = serializers.CharField(source="model_version.identifier")
    alerts = serializers.ListField(child=serializers.CharField())
    incident = serializers.CharField(source="incident.identifier", allow_null=True, default=None)


class IncidentIn(StrictSerializer):
    use_case = serializers.SlugField()
    title = serializers.CharField(max_length=200)
    description = serializers.CharField()
    severity = serializers.ChoiceField(choices=IncidentSeverity.choices)
    source = serializers.ChoiceField(choices=IncidentSource.choices, default=IncidentSource.MONITORING_ALERT)
    model_version = serializers.CharField(required=False, max_length=200)
    environment = serializers.ChoiceField(choices=Environment.choices, required=False)


class IncidentOut(serializers.Serializer):
    id = serializers.IntegerField()
    identifier = serializers.CharField()
    state = serializers.CharField()
    severity = serializers.CharField()
