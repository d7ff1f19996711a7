"""Operational endpoints (not product pages: those live in the admin)."""

import logging

from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponsePermanentRedirect, JsonResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found

from accounts.choices import Role

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


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on every page that names no icon (the API's, the key list): the portal's own."""
    return HttpResponsePermanentRedirect(static("portal/favicon.ico"))


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404 for a path no URL matches: JSON under ``/api/``, where every answer is JSON in the shape the schema
    documents (a pipeline sends an identifier the URL patterns cannot hold), the usual page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "No such endpoint or record."}, status=404)
    return page_not_found(request, exception)


#: What a refusal says when whoever raised it gave no reason.
DEFAULT_REFUSAL = "Your roles do not allow this page or action."
#: The admin's own pages of a model, by the end of their URL name, and the permission each needs.
_ADMIN_PAGES = {"add": "add", "change": "change", "changelist": "view", "delete": "delete", "history": "view"}


def _admin_page_refusal(request: HttpRequest) -> str:
    """The reason for the admin's own refusals, which carry none: what the page needs, and which roles have it."""
    match = request.resolver_match
    if match is None or match.namespace != "admin" or not match.url_name:
        return ""
    for model in admin.site._registry:
        opts = model._meta
        page = match.url_name.removeprefix(f"{opts.app_label}_{opts.model_name}_")
        if page in _ADMIN_PAGES and page != match.url_name:
            verb = _ADMIN_PAGES[page]
            roles = sorted(
                Group.objects.filter(
                    name__in=Role.values,
                    permissions__content_type__app_label=opts.app_label,
                    permissions__codename=f"{verb}_{opts.model_name}",
                ).values_list("name", flat=True)
            )
            allowed = f" Roles that may: {', '.join(roles)}." if roles else " No portal role may."
            return f"Your roles do not allow you to {verb} {opts.verbose_name_plural}.{allowed}"
    return ""


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """403 in the admin's look: why (the refusal's own reason when it carries one, as every service's does), a
    way back to the page the person came from, and the landing page. JSON under ``/api/``."""
    reason = str(exception or "") or _admin_page_refusal(request) or DEFAULT_REFUSAL
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": reason}, status=403)
    referrer = request.headers.get("referer", "")
    safe_referrer = url_has_allowed_host_and_scheme(
        referrer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    context = {
        **admin.site.each_context(request),
        "title": _("You cannot open this"),
        "reason": reason,
        "back_url": referrer if safe_referrer and referrer != request.build_absolute_uri() else "",
        "home_url": reverse("admin:index"),
    }
    return HttpResponseForbidden(render_to_string("403.html", context, request=request))
