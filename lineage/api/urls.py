"""The lineage API's routes, under ``/api/v1/`` (``lineage`` is the OpenLineage HTTP transport's default path)."""

from django.urls import path

from lineage.api.views import DatasetVersionCreate, DatasetVersionSubmit
from lineage.openlineage.api import OpenLineageIntake

urlpatterns = [
    path("dataset-versions", DatasetVersionCreate.as_view(), name="api-dataset-versions"),
    path("dataset-versions/<str:identifier>/submit", DatasetVersionSubmit.as_view(), name="api-dataset-version-submit"),
    path("lineage", OpenLineageIntake.as_view(), name="api-openlineage"),
]
