"""``POST /api/v1/lineage``: where the ``openlineage-python`` client's HTTP transport sends events by default
(``url`` + its default ``endpoint`` ``api/v1/lineage``), with the pipeline token as its API key (``Bearer``)."""

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.views import PipelineAPIView
from accounts.models import PipelineTokenScope
from audit.ledger import record_denial
from lineage.openlineage.events import RunEventIn, decode_body, parse_run_event
from lineage.openlineage.services import RecordedEvent, openlineage_event_record
from lineage.openlineage.training import check_training_job, is_training_job


class ProducedVersionOut(serializers.Serializer):
    identifier = serializers.CharField()
    state = serializers.CharField()
    created = serializers.BooleanField(help_text="Made by this event (False: made earlier, or an existing version).")


class RecordedEventOut(serializers.Serializer):
    run_id = serializers.UUIDField()
    job = serializers.CharField()
    state = serializers.CharField(help_text="Where the run stands: START, RUNNING, COMPLETE, FAIL or ABORT.")
    recorded = serializers.BooleanField(help_text="False when this event had been received before: nothing changed.")
    dataset_versions = ProducedVersionOut(many=True)


def _outcome(recorded: RecordedEvent) -> dict[str, Any]:
    run = recorded.run
    created = {version.pk for version in recorded.created_versions}
    versions = run.dataset_versions.select_related("dataset").order_by("pk")
    return {
        "run_id": run.run_id,
        "job": f"{run.job_namespace}/{run.job_name}",
        "state": run.state,
        "recorded": recorded.recorded,
        "dataset_versions": [
            {"identifier": version.identifier, "state": version.state, "created": version.pk in created}
            for version in versions
        ],
    }


class OpenLineageIntake(PipelineAPIView):
    """Record an OpenLineage RunEvent (START, RUNNING, COMPLETE, FAIL, ABORT or OTHER).

    201 when the event changed something, 200 when it had been received before (nothing is recorded twice).
    A completed run's outputs become draft dataset versions for people to complete, submit and review.
    A training job's events register, complete or fail its training run, which also needs the token's
    ``runs:write`` scope.
    """

    required_scope = PipelineTokenScope.LINEAGE_WRITE
    # It may come gzipped; read through ``raw_body``, as a large Spark job's schema and column-lineage facets pass
    # Django's own 2.5 MiB limit easily.
    reads_raw_body = True

    @extend_schema(request=RunEventIn, responses={201: RecordedEventOut, 200: RecordedEventOut})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        document = decode_body(
            self.raw_body(),
            content_encoding=request.headers.get("Content-Encoding", ""),
            limit=settings.API_MAX_REQUEST_BYTES,
        )
        event = parse_run_event(document)
        if is_training_job(event):
            check_training_job(event)
            self._require_scope(request, PipelineTokenScope.RUNS_WRITE)
        recorded = openlineage_event_record(event=event, actor=request.user, use_case_ids=self.token.use_case_ids)
        return Response(
            RecordedEventOut(_outcome(recorded)).data,
            status=status.HTTP_201_CREATED if recorded.recorded else status.HTTP_200_OK,
        )

    def _require_scope(self, request: Request, scope: str) -> None:
        """403, recorded in the ledger like a refused endpoint scope, unless the token holds ``scope`` too."""
        if scope in self.token.scopes:
            return
        reason = f"This token does not have the scope {scope}, which a training job's events need."
        record_denial(actor=request.user, attempted=f"api {scope}", reason=reason)
        raise PermissionDenied(reason)
