"""The registry API's endpoints. Views are thin: a serializer checks the shape of the request, the view finds the
records (by the identifiers pipelines use: ``support-assistant:3``, ``support-chats@1``, the run's own id) and
checks that the token reaches their use case, then one service does the work, with its permission, state and
ledger checks.
"""

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.exceptions import UNKNOWN_RECORD
from accounts.api.views import PipelineAPIView, PipelineCreateAPIView, all_or_nothing
from accounts.models import PipelineTokenScope
from governance.models import UseCase
from lineage.models import DatasetVersion
from registry.api.serializers import (
    ChangeTicketIn,
    ChangeTicketOut,
    DeploymentOut,
    GateCheckOut,
    GateDecisionOut,
    IncidentIn,
    IncidentOut,
    ModelVersionIn,
    ModelVersionOut,
    MonitoringSummaryIn,
    MonitoringSummaryOut,
    TrainingRunCompleteIn,
    TrainingRunIn,
    TrainingRunOut,
    ValidationRunIn,
    ValidationRunOut,
    parse_results,
)
from registry.choices import Environment
from registry.lookups import model_version_by_identifier
from registry.models import Deployment, GateDecision, ModelVersion, TrainingRun, ValidationRun, ValidationSuite
from registry.services.gates import gate_evaluate
from registry.services.incidents import incident_open
from registry.services.monitoring import RATES, monitoring_summary_record
from registry.services.promotion import change_ticket_create, change_ticket_submit, promotion_check
from registry.services.training import model_version_register, training_run_complete, training_run_register
from registry.services.validation import validation_run_record

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
        raise ValidationError(
            {field: [f"No model version {identifier!r} (name:number or id)."]}, code=UNKNOWN_RECORD
        ) from None


def _use_case_field(slug: str) -> UseCase:
    use_case = UseCase.objects.filter(slug=slug).first()
    if use_case is None:
        raise ValidationError({"use_case": [f"No use case {slug!r}."]}, code=UNKNOWN_RECORD)
    return use_case


@extend_schema_view(
    post=extend_schema(request=TrainingRunIn, responses={201: TrainingRunOut}, operation_id="training_runs_register")
)
class TrainingRunCreate(PipelineCreateAPIView):
    required_scope = Scope.RUNS_WRITE

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
            raise ValidationError(
                {"dataset_versions": [f"Unknown dataset versions: {', '.join(unknown)}."]}, code=UNKNOWN_RECORD
            )
        run = training_run_register(actor=request.user, use_case=use_case, dataset_versions=versions, **data)
        return Response(TrainingRunOut(run).data, status=status.HTTP_201_CREATED)


@extend_schema_view(post=extend_schema(request=TrainingRunCompleteIn, responses={200: TrainingRunOut}))
class TrainingRunComplete(PipelineCreateAPIView):
    required_scope = Scope.RUNS_WRITE

    def create(self, request: Request, run_id: str) -> Response:
        run = get_object_or_404(TrainingRun.objects.select_related("use_case"), run_id=run_id)
        self.check_use_case(run.use_case_id, attempted="training_run_complete", obj=run)
        given = TrainingRunCompleteIn(data=request.data)
        given.is_valid(raise_exception=True)
        run = training_run_complete(run=run, actor=request.user, **given.validated_data)
        return Response(TrainingRunOut(run).data)


@extend_schema_view(post=extend_schema(request=ModelVersionIn, responses={201: ModelVersionOut}))
class ModelVersionCreate(PipelineCreateAPIView):
    required_scope = Scope.RUNS_WRITE

    def create(self, request: Request) -> Response:
        given = ModelVersionIn(data=request.data)
        given.is_valid(raise_exception=True)
        run = TrainingRun.objects.filter(run_id=given.validated_data["training_run"]).first()
        if run is None:
            raise ValidationError(
                {"training_run": [f"No training run {given.validated_data['training_run']!r}."]}, code=UNKNOWN_RECORD
            )
        self.check_use_case(run.use_case_id, attempted="model_version_register", obj=run)
        version = model_version_register(
            run=run,
            actor=request.user,
            name=given.validated_data["name"],
            description=given.validated_data["description"],
        )
        return Response(ModelVersionOut(version).data, status=status.HTTP_201_CREATED)


@extend_schema_view(post=extend_schema(request=ValidationRunIn, responses={201: ValidationRunOut}))
class ValidationRunCreate(PipelineCreateAPIView):
    required_scope = Scope.VALIDATION_WRITE

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
            raise ValidationError(
                {"suite": [f"No validation suite {given['suite']!r} in that version."]}, code=UNKNOWN_RECORD
            )
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


@extend_schema_view(post=extend_schema(request=None, responses={201: GateDecisionOut}))
class GateEvaluate(PipelineCreateAPIView):
    required_scope = Scope.VALIDATION_WRITE

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


@extend_schema_view(post=extend_schema(request=ChangeTicketIn, responses={201: ChangeTicketOut}))
class ChangeTicketCreate(PipelineCreateAPIView):
    """A promotion request; with ``submit``, created and submitted together or not at all."""

    required_scope = Scope.PROMOTION_REQUEST

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


@extend_schema_view(post=extend_schema(request=MonitoringSummaryIn, responses={201: MonitoringSummaryOut}))
class MonitoringSummaryCreate(PipelineCreateAPIView):
    """One period of a deployment; a rate above its alert threshold raises a draft incident."""

    required_scope = Scope.MONITORING_WRITE

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


@extend_schema_view(post=extend_schema(request=IncidentIn, responses={201: IncidentOut}))
class IncidentCreate(PipelineCreateAPIView):
    """An incident opened from an alert (or another source), optionally naming the version and environment."""

    required_scope = Scope.INCIDENTS_WRITE

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
