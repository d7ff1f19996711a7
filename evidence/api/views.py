"""A use case's OSCAL documents for a GRC platform's pipeline: the component definition (the controls its
requirements implement) and the assessment results (what the portal observed and found). Each download is an
export, recorded as an access event and in the ledger, like the same download from the use case's page."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound
from rest_framework.request import Request

from accounts.api.views import PipelineAPIView
from accounts.models import PipelineTokenScope
from evidence.oscal_results import oscal_export
from governance.models import UseCase
from governance.oscal import NothingToExport


class NothingToExportYet(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "nothing_to_export"


class OscalDocument(PipelineAPIView):
    """One OSCAL document of a use case the token is issued for, as OSCAL JSON (the document wrapped in its root
    key, ``{"component-definition": ...}`` or ``{"assessment-results": ...}``)."""

    required_scope = PipelineTokenScope.OSCAL_READ
    #: Which of ``evidence.oscal_results.DOCUMENTS``; set per route.
    document = ""

    @extend_schema(
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="The OSCAL JSON document."),
            409: OpenApiResponse(
                inline_serializer("OscalNothingToExport", fields={"detail": serializers.CharField()}),
                description="The use case has no approved requirements: no control mapping is in force.",
            ),
        }
    )
    def get(self, request: Request, use_case: str) -> HttpResponse:
        found = UseCase.objects.filter(slug=use_case).first()
        if found is None:
            raise NotFound(f"No use case {use_case!r}.")
        self.check_use_case(found.pk, attempted=f"api oscal {self.document}", obj=found)
        try:
            body = oscal_export(use_case=found, user=request.user, document=self.document, channel="api")
        except NothingToExport as nothing:
            raise NothingToExportYet(str(nothing)) from None
        response = HttpResponse(body, content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{found.slug}-{self.document}.json"'
        return response
