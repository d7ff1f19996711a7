"""The registry's pipeline API: training runs, model versions, validation and gates, promotion requests,
deployments, monitoring and incidents.

Views are thin: a serializer checks the shape of the request, the view finds the records (by the identifiers
pipelines use: ``support-assistant:3``, ``support-chats@1``, the run's own id) and checks that the token reaches
their use case, then one service does the work, with its permission, state and ledger checks.
"""

from typing import Any

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from governance.api.parsers import MAX_SAFE_INTEGER
from governance.api.views import PipelineAPIView, PipelineCreateAPIView, all_or_nothing
from governance.models import PipelineTokenScope, UseCase
from lineage.models import DatasetVersion
from registry.choices import ChangeRisk, Environment, IncidentSeverity, IncidentSource
from registry.lookups import model_version_by_identifier
from registry.models import (
    BaseModel,
    Deployment,
    GateDecision,
    ModelVersion,
    TrainingRun,
    ValidationRun,
    ValidationSuite,
)
from registry.services.gates import gate_evaluate
from registry.services.incidents import incident_open
from registry.services.monitoring import RATES, monitoring_summary_record
from registry.services.promotion import change_ticket_create, change_ticket_submit, promotion_check
from registry.services.training import model_version_register, training_run_complete, training_run_register
from registry.services.validation import ResultInput, validation_run_record

Scope = PipelineTokenScope


def _model_version(identifier: str) -> ModelVersion:
    try:
        return model_version_by_identifier(identifier)
    except ModelVersion.DoesNotExist:
        raise NotFound(f"No model version {identifier!r}.") from None


def _model_version_field(identifier: str, field: str = "model_version") -> ModelVersion:
    try:
        return model_version_by_identifier(identifier)
    except ModelVersion.DoesNotExist:
        raise ValidationError({field: [f"No model version {identifier!r} (name:number or id)."]}) from None


def _use_case_field(slug: str) -> UseCase:
    use_case = UseCase.objects.filter(slug=slug).first()
    if use_case is None:
        raise ValidationError({"use_case": [f"No use case {slug!r}."]})
    return use_case


# --- Training runs and model versions --------------------------------------------------------------------------


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
        elif isinstance(data, dict) and {"provider", "name", "version"} <= set(data):
            found = BaseModel.objects.filter(
                provider=data["provider"], name=data["name"], version=data["version"]
            ).first()
        else:
            self.fail("invalid")
        if found is None:
            raise serializers.ValidationError(f"No base model {data!r}; register it first.")
        return found

    def to_representation(self, value: BaseModel) -> str:
        return str(value)


class TrainingRunIn(serializers.Serializer):
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


class TrainingRunCreate(PipelineCreateAPIView):
    required_scope = Scope.RUNS_WRITE

    @extend_schema(request=TrainingRunIn, responses={201: TrainingRunOut}, operation_id="training_runs_register")
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        given = TrainingRunIn(data=request.data)
        given.is_valid(raise_exception=True)
        data = dict(given.validated_data)
        use_case = _use_case_field(data.pop("use_case"))
        self.check_use_case(use_case.pk, attempted="training_run_register", obj=use_case)
        versions, unknown = [], []
        for identifier in data.pop("dataset_versions"):
            try:
                versions.append(DatasetVersion.objects.get_by_identifier(identifier))
            except DatasetVersion.DoesNotExist:
                unknown.append(identifier)
        if unknown:
            raise ValidationError({"dataset_versions": [f"Unknown dataset versions: {', '.join(unknown)}."]})
        run = training_run_register(actor=request.user, use_case=use_case, dataset_versions=versions, **data)
        return Response(TrainingRunOut(run).data, status=status.HTTP_201_CREATED)


class TrainingRunCompleteIn(serializers.Serializer):
    output_weights_digest = serializers.CharField(max_length=64)
    metrics = serializers.DictField(required=False, default=dict)
    checkpoints = serializers.ListField(required=False, default=list)
    finished_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class TrainingRunComplete(PipelineCreateAPIView):
    required_scope = Scope.RUNS_WRITE

    @extend_schema(request=TrainingRunCompleteIn, responses={200: TrainingRunOut})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)

    def create(self, request: Request, run_id: str) -> Response:
        run = get_object_or_404(TrainingRun.objects.select_related("use_case"), run_id=run_id)
        self.check_use_case(run.use_case_id, attempted="training_run_complete", obj=run)
        given = TrainingRunCompleteIn(data=request.data)
        given.is_valid(raise_exception=True)
        run = training_run_complete(run=run, actor=request.user, **given.validated_data)
        return Response(TrainingRunOut(run).data)


class ModelVersionIn(serializers.Serializer):
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


class ModelVersionCreate(PipelineCreateAPIView):
    required_scope = Scope.RUNS_WRITE

    @extend_schema(request=ModelVersionIn, responses={201: ModelVersionOut})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)

    def create(self, request: Request) -> Response:
        given = ModelVersionIn(data=request.data)
        given.is_valid(raise_exception=True)
        run = TrainingRun.objects.filter(run_id=given.validated_data["training_run"]).first()
        if run is None:
            raise ValidationError({"training_run": [f"No training run {given.validated_data['training_run']!r}."]})
        self.check_use_case(run.use_case_id, attempted="model_version_register", obj=run)
        version = model_version_register(
            run=run,
            actor=request.user,
            name=given.validated_data["name"],
            description=given.validated_data["description"],
        )
        return Response(ModelVersionOut(version).data, status=status.HTTP_201_CREATED)


# --- Validation runs and gates ---------------------------------------------------------------------------------

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


class ValidationRunIn(serializers.Serializer):
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


class ValidationRunCreate(PipelineCreateAPIView):
    required_scope = Scope.VALIDATION_WRITE

    @extend_schema(request=ValidationRunIn, responses={201: ValidationRunOut})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)

    def create(self, request: Request) -> Response:
        data = request.data
        if not isinstance(data, dict):
            raise ValidationError({"non_field_errors": ["Send a JSON object."]})
        # The envelope goes through a serializer; the results, which may be many, through ``parse_results``.
        envelope = ValidationRunIn(data={**data, "results": [{}]})
        envelope.is_valid(raise_exception=True)
        given = envelope.validated_data
        version = _model_version_field(given["model_version"])
        self.check_use_case(version.use_case_id, attempted="validation_run_record", obj=version)
        suites = ValidationSuite.objects.filter(slug=given["suite"])
        if "suite_version" in given:
            suites = suites.filter(version=given["suite_version"])
        suite = suites.order_by("-version").first()
        if suite is None:
            raise ValidationError({"suite": [f"No validation suite {given['suite']!r} in that version."]})
        results = parse_results(data.get("results"))
        run = validation_run_record(
            model_version=version,
            suite=suite,
            actor=request.user,
            results=results,
            started_at=given["started_at"],
            finished_at=given["finished_at"],
            executed_by=given["executed_by"],
        )
        return Response(ValidationRunOut(run).data, status=status.HTTP_201_CREATED)


class GateDecisionOut(serializers.Serializer):
    id = serializers.IntegerField()
    model_version = serializers.CharField(source="model_version.identifier")
    validation_run = serializers.IntegerField(source="validation_run_id")
    outcome = serializers.CharField()
    human_decision = serializers.CharField()
    threshold_revision = serializers.IntegerField(source="threshold_policy.revision")
    figures = serializers.JSONField()
    decided_at = serializers.DateTimeField()


class GateEvaluate(PipelineCreateAPIView):
    required_scope = Scope.VALIDATION_WRITE

    @extend_schema(request=None, responses={201: GateDecisionOut})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)

    def create(self, request: Request, pk: int) -> Response:
        run = get_object_or_404(ValidationRun.objects.select_related("model_version"), pk=pk)
        self.check_use_case(run.model_version.use_case_id, attempted="gate_evaluate", obj=run)
        decision = gate_evaluate(validation_run=run, actor=request.user)
        decision = GateDecision.objects.select_related("model_version", "threshold_policy").get(pk=decision.pk)
        return Response(GateDecisionOut(decision).data, status=status.HTTP_201_CREATED)


class GateDecisionDetail(PipelineAPIView):
    required_scope = Scope.GATES_READ

    @extend_schema(responses={200: GateDecisionOut})
    def get(self, request: Request, pk: int) -> Response:
        decision = get_object_or_404(GateDecision.objects.select_related("model_version", "threshold_policy"), pk=pk)
        self.check_use_case(decision.model_version.use_case_id, attempted="api gate decision", obj=decision)
        return Response(GateDecisionOut(decision).data)


class GateCheckOut(serializers.Serializer):
    model_version = serializers.CharField()
    environment = serializers.CharField()
    allowed = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())
    change_ticket = serializers.CharField(allow_null=True)


class GateCheck(PipelineAPIView):
    """Whether the version may go live in the environment now: 200 either way, with every reason if not."""

    required_scope = Scope.GATES_READ

    @extend_schema(responses={200: GateCheckOut})
    def get(self, request: Request, model_version: str, environment: str) -> Response:
        version = _model_version(model_version)
        if environment not in Environment.values:
            raise NotFound(f"No environment {environment!r}; choose {', '.join(Environment.values)}.")
        self.check_use_case(version.use_case_id, attempted="api gate check", obj=version)
        problems, ticket = promotion_check(version, environment)
        return Response(
            {
                "model_version": version.identifier,
                "environment": environment,
                "allowed": not problems,
                "reasons": problems,
                "change_ticket": ticket.identifier if ticket else None,
            }
        )


# --- Promotion requests and deployments ------------------------------------------------------------------------


class ChangeTicketIn(serializers.Serializer):
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


class ChangeTicketCreate(PipelineCreateAPIView):
    """A promotion request; with ``submit``, created and submitted together or not at all."""

    required_scope = Scope.PROMOTION_REQUEST

    @extend_schema(request=ChangeTicketIn, responses={201: ChangeTicketOut})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)

    def create(self, request: Request) -> Response:
        given = ChangeTicketIn(data=request.data)
        given.is_valid(raise_exception=True)
        data = dict(given.validated_data)
        version = _model_version_field(data.pop("model_version"))
        self.check_use_case(version.use_case_id, attempted="change_ticket_create", obj=version)
        submit = data.pop("submit")
        with all_or_nothing(about=version):
            ticket = change_ticket_create(model_version=version, actor=request.user, **data)
            if submit:
                ticket = change_ticket_submit(ticket=ticket, actor=request.user)
        return Response(ChangeTicketOut(ticket).data, status=status.HTTP_201_CREATED)


class DeploymentOut(serializers.Serializer):
    use_case = serializers.SlugField()
    environment = serializers.CharField()
    current_version = serializers.CharField(allow_null=True)
    current_weights_digest = serializers.CharField(allow_null=True)
    previous_stable_version = serializers.CharField(allow_null=True)
    kill_switch_engaged = serializers.BooleanField()
    kill_switch_reason = serializers.CharField()


class DeploymentDetail(PipelineAPIView):
    """What the serving layer should serve: the current version, the one to fall back to, the kill switch."""

    required_scope = Scope.DEPLOYMENTS_READ

    @extend_schema(responses={200: DeploymentOut})
    def get(self, request: Request, use_case: str, environment: str) -> Response:
        found = UseCase.objects.filter(slug=use_case).first()
        if found is None or environment not in Environment.values:
            raise NotFound(f"No deployment {use_case}/{environment}.")
        self.check_use_case(found.pk, attempted="api deployment", obj=found)
        deployment = (
            Deployment.objects.select_related("current_version", "previous_stable_version")
            .filter(use_case=found, environment=environment)
            .first()
        )
        current = deployment.current_version if deployment else None
        previous = deployment.previous_stable_version if deployment else None
        return Response(
            {
                "use_case": found.slug,
                "environment": environment,
                "current_version": current.identifier if current else None,
                "current_weights_digest": current.weights_digest if current else None,
                "previous_stable_version": previous.identifier if previous else None,
                "kill_switch_engaged": bool(deployment and deployment.kill_switch_engaged),
                "kill_switch_reason": deployment.kill_switch_reason if deployment else "",
            }
        )


# --- Monitoring and incidents ----------------------------------------------------------------------------------


class MonitoringSummaryIn(serializers.Serializer):
    use_case = serializers.SlugField()
    environment = serializers.ChoiceField(choices=Environment.choices)
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    volume = serializers.IntegerField(min_value=0, max_value=MAX_SAFE_INTEGER)
    policy_violation_rate = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100)
    refusal_rate = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100)
    escalation_rate = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100)
    human_override_rate = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100)


class MonitoringSummaryOut(serializers.Serializer):
    id = serializers.IntegerField()
    model_version = serializers.CharField(source="model_version.identifier")
    alerts = serializers.ListField(child=serializers.CharField())
    incident = serializers.CharField(source="incident.identifier", allow_null=True, default=None)


class MonitoringSummaryCreate(PipelineCreateAPIView):
    """One period of a deployment; a rate above its alert threshold raises a draft incident."""

    required_scope = Scope.MONITORING_WRITE

    @extend_schema(request=MonitoringSummaryIn, responses={201: MonitoringSummaryOut})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)

    def create(self, request: Request) -> Response:
        given = MonitoringSummaryIn(data=request.data)
        given.is_valid(raise_exception=True)
        data = dict(given.validated_data)
        use_case = _use_case_field(data.pop("use_case"))
        self.check_use_case(use_case.pk, attempted="monitoring_summary_record", obj=use_case)
        environment = data.pop("environment")
        deployment = Deployment.objects.filter(use_case=use_case, environment=environment).first()
        if deployment is None:
            raise ValidationError({"environment": [f"Nothing has been deployed in {use_case} / {environment}."]})
        rates = {field: data.pop(field) for field in RATES}
        summary = monitoring_summary_record(deployment=deployment, actor=request.user, **data, **rates)
        return Response(MonitoringSummaryOut(summary).data, status=status.HTTP_201_CREATED)


class IncidentIn(serializers.Serializer):
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


class IncidentCreate(PipelineCreateAPIView):
    """An incident opened from an alert (or another source), optionally naming the version and environment."""

    required_scope = Scope.INCIDENTS_WRITE

    @extend_schema(request=IncidentIn, responses={201: IncidentOut})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)

    def create(self, request: Request) -> Response:
        given = IncidentIn(data=request.data)
        given.is_valid(raise_exception=True)
        data = dict(given.validated_data)
        use_case = _use_case_field(data.pop("use_case"))
        self.check_use_case(use_case.pk, attempted="incident_open", obj=use_case)
        version = _model_version_field(data.pop("model_version")) if "model_version" in data else None
        if version is not None and version.use_case_id != use_case.pk:
            raise ValidationError({"model_version": [f"{version} belongs to another use case."]})
        deployment = None
        if "environment" in data:
            environment = data.pop("environment")
            deployment = Deployment.objects.filter(use_case=use_case, environment=environment).first()
            if deployment is None:
                raise ValidationError({"environment": [f"Nothing has been deployed in {use_case} / {environment}."]})
        incident = incident_open(
            use_case=use_case, actor=request.user, model_version=version, deployment=deployment, **data
        )
        return Response(IncidentOut(incident).data, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("training-runs", TrainingRunCreate.as_view(), name="api-training-runs"),
    path("training-runs/<str:run_id>/complete", TrainingRunComplete.as_view(), name="api-training-run-complete"),
    path("model-versions", ModelVersionCreate.as_view(), name="api-model-versions"),
    path("validation-runs", ValidationRunCreate.as_view(), name="api-validation-runs"),
    path("validation-runs/<int:pk>/gate", GateEvaluate.as_view(), name="api-validation-run-gate"),
    path("gate-decisions/<int:pk>", GateDecisionDetail.as_view(), name="api-gate-decision"),
    path("gates/<str:model_version>/<str:environment>", GateCheck.as_view(), name="api-gate-check"),
    path("change-tickets", ChangeTicketCreate.as_view(), name="api-change-tickets"),
    path("deployments/<slug:use_case>/<str:environment>", DeploymentDetail.as_view(), name="api-deployment"),
    path("monitoring-summaries", MonitoringSummaryCreate.as_view(), name="api-monitoring-summaries"),
    path("incidents", IncidentCreate.as_view(), name="api-incidents"),
]
