"""The evidence API's routes, under ``/api/v1/``."""

from django.urls import path

from evidence.api.views import OscalDocument

urlpatterns = [
    path(
        "use-cases/<slug:use_case>/oscal/component-definition",
        OscalDocument.as_view(document="component-definition"),
        name="api-oscal-component-definition",
    ),
    path(
        "use-cases/<slug:use_case>/oscal/assessment-results",
        OscalDocument.as_view(document="assessment-results"),
        name="api-oscal-assessment-results",
    ),
]
