"""The admin site is the product's home: its index is each person's landing page."""

from collections.abc import Callable

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _

from accounts.services.second_factor import session_is_verified
from governance.landing import find_records, panels_for, searches_records
from governance.selectors import ledger_integrity_alert, ledger_state_alert
from governance.worklist import desks_for

#: The product's apps first, in the order of the lifecycle; anything else (users, groups) after them.
APP_ORDER = ("governance", "lineage", "registry", "evidence")


class PortalAdminSite(admin.AdminSite):
    site_header = _("LLM Governance Portal")
    site_title = _("LLM Governance Portal")
    index_title = _("Home")
    site_url = None  # the portal has no public site beside the admin
    index_template = "admin/portal_index.html"

    def has_permission(self, request: HttpRequest) -> bool:
        """Staff whose session passed the second factor: a password alone never opens the admin."""
        return super().has_permission(request) and session_is_verified(request)

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        """The admin's login page, whose password step leads to the second factor (Django's ``login``, with
        ``PasswordStepView`` in place of ``LoginView``)."""
        from django.contrib.admin.forms import AdminAuthenticationForm

        from accounts.admin.second_factor import PasswordStepView

        if request.method == "GET" and self.has_permission(request):
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        context = {
            **self.each_context(request),
            "title": _("Log in"),
            "subtitle": None,
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
        }
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=self.name)
        context.update(extra_context or {})
        request.current_app = self.name
        return PasswordStepView.as_view(
            extra_context=context,
            authentication_form=self.login_form or AdminAuthenticationForm,
            template_name=self.login_template or "admin/login.html",
            admin_site=self,
        )(request)

    def get_urls(self) -> list[URLPattern]:
        from accounts.admin import my_pages, second_factor

        def before_sign_in(view: Callable[..., HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
            """The second-factor steps come before ``has_permission`` holds, so not through ``admin_view``."""
            return lambda request: view(request, admin_site=self)

        return [
            path("second-factor/", before_sign_in(second_factor.verify_view), name="second_factor"),
            path("second-factor/enrol/", before_sign_in(second_factor.enrol_view), name="second_factor_enrol"),
            path(
                "second-factor/backup-codes/",
                self.admin_view(lambda request: second_factor.backup_codes_view(request, admin_site=self)),
                name="second_factor_backup_codes",
            ),
            path(
                "my/notifications/",
                self.admin_view(lambda request: my_pages.notifications_view(request, admin_site=self)),
                name="my_notifications",
            ),
            path(
                "my/delegations/",
                self.admin_view(lambda request: my_pages.delegations_view(request, admin_site=self)),
                name="my_delegations",
            ),
            path(
                "my/delegations/<int:pk>/end/",
                self.admin_view(lambda request, pk: my_pages.delegation_end_view(request, pk, admin_site=self)),
                name="my_delegation_end",
            ),
            path("find/", self.admin_view(self.find_record_view), name="find_record"),
            *super().get_urls(),
        ]

    def find_record_view(self, request: HttpRequest) -> HttpResponse:
        """The landing page's search box: one record found opens it; none or several are listed with the term.
        The record's own page decides whether this person may see it."""
        from django.template.response import TemplateResponse

        term = request.GET.get("q", "").strip()[:200]
        found = find_records(term)
        if len(found) == 1:
            return HttpResponseRedirect(found[0].url)
        context = {**self.each_context(request), "title": _("Find a record"), "term": term, "found": found}
        return TemplateResponse(request, "admin/find_record.html", context, status=200 if found else 404)

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        app_list = super().get_app_list(request, app_label)
        rank = {label: position for position, label in enumerate(APP_ORDER)}
        return sorted(app_list, key=lambda app: (rank.get(app["app_label"], len(APP_ORDER)), app["name"]))

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        context = {
            "desks": desks_for(request.user),
            "panels": panels_for(request.user),
            "record_search": searches_records(request.user),
            "ledger_alert": ledger_integrity_alert(),
            "ledger_state_alert": ledger_state_alert(),
            **(extra_context or {}),
        }
        return super().index(request, extra_context=context)
