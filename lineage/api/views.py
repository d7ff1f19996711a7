"""The lineage API's endpoints: thin views that find the records, check the token's use case and call one
service."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.exceptions import UNKNOWN_RECORD
from accounts.api.views import PipelineCreateAPIView, all_or_nothing
from accounts.models import PipelineTokenScope
from lineage.api.serializers import DatasetVersionIn, DatasetVersionOut
from lineage.models import Dataset, DatasetVersion, SourceSystem
from lineage.services import dataset_version_create, dataset_version_submit, lineage_source_add


@extend_schema_view(post=extend_schema(request=DatasetVersionIn, responses={201: DatasetVersionOut}))
class DatasetVersionCreate(PipelineCreateAPIView):
    required_scope = PipelineTokenScope.LINEAGE_WRITE

    def create(self, request: Request) -> Response:
        given = DatasetVersionIn(data=request.data)
        given.is_valid(raise_exception=True)
        data = dict(given.validated_data)
        dataset = Dataset.objects.filter(slug=data.pop("dataset")).first()
        if dataset is None:
            raise ValidationError(
                {"dataset": ["No such dataset; a data steward registers datasets."]}, code=UNKNOWN_RECORD
            )
        self.check_use_case(dataset.use_case_id, attempted="dataset_version_create", obj=dataset)
        parents, unknown = [], []
        for identifier in data.pop("parents"):
            parent = DatasetVersion.objects.select_related("dataset").identified_by(identifier).first()
            (parents if parent is not None else unknown).append(parent or identifier)
        if unknown:
            raise ValidationError(
                {"parents": [f"Unknown dataset versions: {', '.join(unknown)}."]}, code=UNKNOWN_RECORD
            )
        sources = data.pop("sources")
        systems = {
            system.name: system
            for system in SourceSystem.objects.filter(name__in=[s["source_system"] for s in sources])
        }
        missing = sorted({source["source_system"] for source in sources} - set(systems))
        if missing:
            raise ValidationError({"sources": [f"Unknown source systems: {', '.join(missing)}."]}, code=UNKNOWN_RECORD)
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


@extend_schema_view(post=extend_schema(request=None, responses={200: DatasetVersionOut}))
class DatasetVersionSubmit(PipelineCreateAPIView):
    """Freeze the draft and send it to Legal review; 400 with every problem that stops it."""

    required_scope = PipelineTokenScope.LINEAGE_WRITE

    def create(self, request: Request, identifier: str) -> Response:
        version = DatasetVersion.objects.select_related("dataset").identified_by(identifier).first()
        if version is None:
            raise NotFound(f"No dataset version {identifier!r}.")
        self.check_use_case(version.dataset.use_case_id, attempted="dataset_version_submit", obj=version)
        version = dataset_version_submit(version=version, actor=request.user)
        return Response(DatasetVersionOut(get_object_or_404(DatasetVersion, pk=version.pk)).data)
