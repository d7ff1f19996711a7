"""The registry API's routes, under ``/api/v1/``."""

from django.urls import path

from registry.api.views import (
    ChangeTicketCreate,
    DeploymentDetail,
    GateCheck,
    GateDecisionDetail,
    GateEvaluate,
    IncidentCreate,
    ModelVersionCreate,
    MonitoringSummaryCreate,
    TrainingRunComplete,
    TrainingRunCreate,
    ValidationRunCreate,
)

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
