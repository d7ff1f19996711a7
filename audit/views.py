"""The trust core's public pages: the verification keys, readable without signing in."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from audit.verification_keys import published


@require_safe
def verification_keys(request: HttpRequest) -> HttpResponse:
    """Every key the portal has signed evidence with: fingerprints, validity, and the material itself."""
    return render(request, "audit/verification_keys.html", {"document": published()})


@require_safe
def verification_keys_json(request: HttpRequest) -> JsonResponse:
    """The same list for tools: what ``verify-evidence-pack --trust`` and a SIEM's key check take."""
    return JsonResponse(published(), json_dumps_params={"indent": 2, "sort_keys": True})
