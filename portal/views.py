"""Operational endpoints (not product pages: those live in the admin)."""

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers and orchestrators. Reveals nothing else."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.exception("Health check: database unreachable")
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404 for a path no URL matches: JSON under ``/api/``, where every answer is JSON in the shape the schema
    documents (a pipeline sends an identifier the URL patterns cannot hold), the usual page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "No such endpoint or record."}, status=404)
    return page_not_found(request, exception)
