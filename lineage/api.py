"""The lineage pipeline API: registering a dataset version with its lineage record, sources and parents (all or
nothing), and submitting it for review."""

from typing import Any

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from governance.api.parsers import MAX_SAFE_INTEGER
from governance.api.views import PipelineCreateAPIView, all_or_nothing
from governance.models import PipelineTokenScope
from lineage.choices import Article9Condition
from lineage.models import Dataset, DatasetVersion, SourceSystem
from lineage.openlineage.api import OpenLineageIntake
from lineage.services import RECORD_FIELDS, dataset_version_create, dataset_version_submit, lineage_source_add


class LineageSourceIn(serializers.Serializer):
    source_system = serializers.CharField(max_length=200, help_text="The source system's name.")
    legal_basis = serializers.CharField(max_length=40)
    special_category = serializers.BooleanField(required=False, default=False)
    article9_condition = serializers.CharField(required=False, default=Article9Condition.NONE, allow_blank=True)
    period_start = serializers.DateField(required=False, allow_null=True, default=None)
    period_end = serializers.DateField(required=False, allow_null=True, default=None)
    extract = serializers.CharField(required=False, default="", allow_blank=True)


class DatasetVersionIn(serializers.Serializer):
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


class DatasetVersionCreate(PipelineCreateAPIView):
    required_scope = PipelineTokenScope.LINEAGE_WRITE

    @extend_schema(request=DatasetVersionIn, responses={201: DatasetVersionOut})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)

    def create(self, request: Request) -> Response:
        given = DatasetVersionIn(data=request.data)
        given.is_valid(raise_exception=True)
        data = dict(given.validated_data)
        dataset = Dataset.objects.filter(slug=data.pop("dataset")).first()
        if dataset is None:
            raise ValidationError({"dataset": ["No such dataset; a data steward registers datasets."]})
        self.check_use_case(dataset.use_case_id, attempted="dataset_version_create", obj=dataset)
        parents, unknown = [], []
        for identifier in data.pop("parents"):
            parent = DatasetVersion.objects.select_related("dataset").identified_by(identifier).first()
            (parents if parent is not None else unknown).append(parent or identifier)
        if unknown:
            raise ValidationError({"parents": [f"Unknown dataset versions: {', '.join(unknown)}."]})
        sources = data.pop("sources")
        systems = {
            system.name: system
            for system in SourceSystem.objects.filter(name__in=[s["source_system"] for s in sources])
        }
        missing = sorted({source["source_system"] for source in sources} - set(systems))
        if missing:
            raise ValidationError({"sources": [f"Unknown source systems: {', '.join(missing)}."]})
        lineage = data.pop("lineage")
        with all_or_nothing(about=dataset):
            version = dataset_version_create(dataset=dataset, actor=request.user, parents=parents, **data, **lineage)
            for source in sources:
                lineage_source_add(
                    version=version,
                    actor=request.user,
                    **{**source, "source_system": systems[source["source_system"]]},
                )
        return Response(DatasetVersionOut(version).data, status=status.HTTP_201_CREATED)


class DatasetVersionSubmit(PipelineCreateAPIView):
    """Freeze the draft and send it to Legal review; 400 with every problem that stops it."""

    required_scope = PipelineTokenScope.LINEAGE_WRITE

    @extend_schema(request=None, responses={200: DatasetVersionOut})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)

    def create(self, request: Request, identifier: str) -> Response:
        version = DatasetVersion.objects.select_related("dataset").identified_by(identifier).first()
        if version is None:
            raise NotFound(f"No dataset version {identifier!r}.")
        self.check_use_case(version.dataset.use_case_id, attempted="dataset_version_submit", obj=version)
        version = dataset_version_submit(version=version, actor=request.user)
        return Response(DatasetVersionOut(get_object_or_404(DatasetVersion, pk=version.pk)).data)


urlpatterns = [
    path("dataset-versions", DatasetVersionCreate.as_view(), name="api-dataset-versions"),
    path("dataset-versions/<str:identifier>/submit", DatasetVersionSubmit.as_view(), name="api-dataset-version-submit"),
    path("lineage", OpenLineageIntake.as_view(), name="api-openlineage"),
]
