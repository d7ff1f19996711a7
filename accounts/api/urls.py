"""The identity and trust core's API routes, under ``/api/v1/``."""

from django.urls import path

from accounts.api.ledger import LedgerFeed

urlpatterns = [
    path("ledger", LedgerFeed.as_view(), name="api-ledger"),
]
