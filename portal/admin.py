"""The admin site is the product's home: its index is each person's landing page."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from governance.selectors import ledger_integrity_alert
from governance.worklist import desks_for

#: The product's apps first, in the order of the lifecycle; anything else (users, groups) after them.
APP_ORDER = ("governance", "lineage", "registry", "evidence")


class PortalAdminSite(admin.AdminSite):
    site_header = _("LLM Governance Portal")
    site_title = _("LLM Governance Portal")
    index_title = _("Home")
    site_url = None  # the portal has no public site beside the admin
    index_template = "admin/portal_index.html"

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        app_list = super().get_app_list(request, app_label)
        rank = {label: position for position, label in enumerate(APP_ORDER)}
        return sorted(app_list, key=lambda app: (rank.get(app["app_label"], len(APP_ORDER)), app["name"]))

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        context = {
            "desks": desks_for(request.user),
            "ledger_alert": ledger_integrity_alert(),
            **(extra_context or {}),
        }
        return super().index(request, extra_context=context)
