"""The inference intake's route, under ``/api/v1/``: ``otlp/v1/traces``, so an OTLP exporter whose base endpoint is
``<portal>/api/v1/otlp`` finds it at its default signal path."""

from django.urls import path

from inference.api import OtlpTraceIntake

urlpatterns = [
    path("otlp/v1/traces", OtlpTraceIntake.as_view(), name="api-otlp-traces"),
]
