"""Portal roles in the admin: role grants (request, approve with a signature, reject, ask for and decide on a
removal), access reviews (the owner signs the member list), and Django's user page without the fields that would
change roles, permissions or administrator rights around them."""

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from accounts.admin.actions import attach_service_errors, refuse
from accounts.admin.signing import reason_view, signing_view
from accounts.authz import printed_names
from accounts.choices import HOLDING_STATES, SERVICE_ACCOUNT_PREFIX, Role, RoleGrantState
from accounts.models import AccessReview, RoleGrant
from accounts.services.access_reviews import access_review_attest
from accounts.services.role_grants import (
    is_access_administrator,
    role_grant_approve,
    role_grant_decide_refusal,
    role_grant_deciders,
    role_grant_reject,
    role_grant_request,
    role_grant_revocation_approve,
    role_grant_revocation_reject,
    role_grant_revocation_request,
)
from audit.admin.export import ListExportMixin
from audit.admin.governed import GovernedAdmin, ReadOnlyAuditAdmin
from audit.ledger import ActionDenied

User = get_user_model()


def _deciding(grant: RoleGrant, person: Any, *, state: RoleGrantState, maker_id: int | None) -> dict[str, Any]:
    """The signing page's refusal and "who can" for a decision on ``grant``."""
    return {
        "refusal": role_grant_decide_refusal(grant, person, state=state, maker_id=maker_id),
        "who_can": printed_names(role_grant_deciders(grant, state=state, maker_id=maker_id)),
    }


def _people() -> QuerySet:
    """Who can be given a role: active people, not administrators, not pipelines' service accounts."""
    return (
        User.objects.filter(is_active=True, is_superuser=False)
        .exclude(username__startswith=SERVICE_ACCOUNT_PREFIX)
        .order_by("username")
    )


class RoleGrantRequestForm(forms.Form):
    user = forms.ModelChoiceField(label=_("Person"), queryset=User.objects.none())
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    reason = forms.CharField(
        label=_("Why does the person need the role?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text=_("Their job, and the ticket or decision that asks for it. A second person approves."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = _people()


@admin.register(RoleGrant)
class RoleGrantAdmin(ReadOnlyAuditAdmin, GovernedAdmin):
    """Grants are created by the request page and decided on their own pages; nothing here is edited."""

    list_display = ("__str__", "state", "basis", "requested_by", "requested_at", "decided_by", "revoked_at")
    list_filter = ("state", "role", "basis")
    list_select_related = ("user", "requested_by", "decided_by")
    search_fields = ("user__username", "user__last_name")
    readonly_fields = (
        "user",
        "role",
        "state",
        "basis",
        "reason",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
        "decision_note",
        "revocation_requested_by",
        "revocation_requested_at",
        "revocation_reason",
        "revoked_by",
        "revoked_at",
        "revocation_note",
    )
    change_form_template = "admin/accounts/rolegrant/change_form.html"
    change_list_template = "admin/accounts/rolegrant/change_list.html"

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "may_request": is_access_administrator(request.user)}
        return super().changelist_view(request, extra_context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "may_request": is_access_administrator(request.user)}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list[URLPattern]:
        def view(function: Any, name: str, route: str) -> URLPattern:
            return path(route, self.admin_site.admin_view(function), name=f"accounts_rolegrant_{name}")

        return [
            view(self.request_view, "request", "request/"),
            view(self.approve_view, "approve", "<int:pk>/approve/"),
            view(self.reject_view, "reject", "<int:pk>/reject/"),
            view(self.revocation_request_view, "revocation_request", "<int:pk>/removal/"),
            view(self.revocation_approve_view, "revocation_approve", "<int:pk>/removal/approve/"),
            view(self.revocation_reject_view, "revocation_reject", "<int:pk>/removal/reject/"),
            *super().get_urls(),
        ]

    def _back(self, grant: RoleGrant) -> str:
        return reverse("admin:accounts_rolegrant_change", args=[grant.pk])

    def request_view(self, request: HttpRequest) -> HttpResponse:
        """An access administrator asks for a person to be given a role."""
        if not is_access_administrator(request.user):
            refuse(request, attempted="role_grant_request", reason="Only an access administrator may ask for roles.")
        form = RoleGrantRequestForm(request.POST or None, initial={"user": request.GET.get("user")})
        status = 200
        if request.method == "POST":
            status = 400
            if form.is_valid():
                data = form.cleaned_data
                try:
                    grant = role_grant_request(
                        user=data["user"], role=data["role"], requested_by=request.user, reason=data["reason"]
                    )
                except ValidationError as error:
                    attach_service_errors(form, error)
                except ActionDenied as denial:
                    form.add_error(None, denial.reason)
                    status = 403
                else:
                    self.message_user(request, f"Requested: {grant}. A second person must approve it.")
                    return HttpResponseRedirect(self._back(grant))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Request a portal role"),
            "form": form,
        }
        return TemplateResponse(request, "admin/accounts/rolegrant/request.html", context, status=status)

    def approve_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        grant = get_object_or_404(RoleGrant.objects.select_related("user"), pk=pk)
        return signing_view(
            request,
            admin_site=self.admin_site,
            record=grant,
            meaning=f"Approve granting the {grant.role} role to {grant.user}",
            title=f"Approve: {grant}",
            perform=lambda credentials: role_grant_approve(grant=grant, approver=request.user, **credentials),
            success_url=self._back(grant),
            success_message=f"{grant.user} now holds the {grant.role} role.",
            cancel_url=self._back(grant),
            **_deciding(grant, request.user, state=RoleGrantState.REQUESTED, maker_id=grant.requested_by_id),
        )

    def reject_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        grant = get_object_or_404(RoleGrant, pk=pk)
        return reason_view(
            request,
            admin_site=self.admin_site,
            record=grant,
            title=f"Reject: {grant}",
            submit_label=str(_("Reject")),
            perform=lambda reason: role_grant_reject(grant=grant, approver=request.user, note=reason),
            success_url=self._back(grant),
            success_message=f"Request rejected: {grant}.",
        )

    def revocation_request_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        grant = get_object_or_404(RoleGrant, pk=pk)
        if not is_access_administrator(request.user):
            refuse(request, attempted="role_grant_revocation_request", obj=grant)
        return reason_view(
            request,
            admin_site=self.admin_site,
            record=grant,
            title=f"Ask to remove: {grant}",
            submit_label=str(_("Ask for the removal")),
            perform=lambda reason: role_grant_revocation_request(grant=grant, requested_by=request.user, reason=reason),
            success_url=self._back(grant),
            success_message=f"Removal requested: {grant}. A second person must approve it.",
        )

    def revocation_approve_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        grant = get_object_or_404(RoleGrant.objects.select_related("user"), pk=pk)
        return signing_view(
            request,
            admin_site=self.admin_site,
            record=grant,
            meaning=f"Approve removing the {grant.role} role from {grant.user}",
            title=f"Approve the removal: {grant}",
            perform=lambda credentials: role_grant_revocation_approve(
                grant=grant, approver=request.user, **credentials
            ),
            success_url=self._back(grant),
            success_message=f"{grant.user} no longer holds the {grant.role} role.",
            cancel_url=self._back(grant),
            **_deciding(
                grant,
                request.user,
                state=RoleGrantState.REVOCATION_REQUESTED,
                maker_id=grant.revocation_requested_by_id,
            ),
        )

    def revocation_reject_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        grant = get_object_or_404(RoleGrant, pk=pk)
        return reason_view(
            request,
            admin_site=self.admin_site,
            record=grant,
            title=f"Keep: {grant}",
            submit_label=str(_("Refuse the removal")),
            perform=lambda reason: role_grant_revocation_reject(grant=grant, approver=request.user, note=reason),
            success_url=self._back(grant),
            success_message=f"Removal refused: {grant} stands.",
        )


#: What the stock user page would let an administrator change around the role grants: role groups, direct
#: permissions (which approve as a role does) and administrator rights (which an account with a role must not get).
GOVERNED_USER_FIELDS = ("is_superuser", "groups", "user_permissions")


def _governed_changes(request: HttpRequest, user: Any) -> list[str]:
    """The governed fields a posted user form would change (an old page posting the same values changes none)."""
    tried = []
    for name in ("groups", "user_permissions"):
        if name in request.POST:
            current = {str(pk) for pk in getattr(user, name).values_list("pk", flat=True)}
            if set(request.POST.getlist(name)) - {""} != current:
                tried.append(name)
    if request.POST.get("is_superuser", "").lower() in {"on", "true", "1"} and not user.is_superuser:
        tried.append("is_superuser")
    return tried


class PortalUserAdmin(ListExportMixin, UserAdmin):
    """Django's user page, with roles, permissions and administrator rights shown but not editable: roles
    change through role grants (requested, then approved by a second person), which the page links to."""

    readonly_fields = (*GOVERNED_USER_FIELDS, "portal_roles", "last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (_("Portal roles"), {"fields": ("portal_roles",)}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", *GOVERNED_USER_FIELDS)}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )

    @admin.display(description=_("roles held (through approved grants)"))
    def portal_roles(self, user: Any) -> str:
        if user.pk is None:
            return ""
        grants = RoleGrant.objects.filter(user=user, state__in=HOLDING_STATES).order_by("role")
        held = format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((reverse("admin:accounts_rolegrant_change", args=[grant.pk]), grant.role) for grant in grants),
        )
        request_url = f"{reverse('admin:accounts_rolegrant_request')}?user={user.pk}"
        return format_html(
            '{} <a class="request-role-link" href="{}">{}</a>',
            held or _("none"),
            request_url,
            _("Request a role..."),
        )

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The fields are not on the form, so a forged post naming them would change nothing anyway; it is refused
        and recorded, before the page's own transaction (whose rollback would take the record with it)."""
        if object_id is not None and request.method == "POST":
            user = self.get_object(request, unquote(object_id))
            tried = _governed_changes(request, user) if user is not None else []
            if tried:
                refuse(
                    request,
                    attempted="change user roles or rights outside the role grants",
                    obj=user,
                    reason=f"{', '.join(tried)} change only through role grants.",
                )
        return super().changeform_view(request, object_id, form_url, extra_context)


class RoleGroupAdmin(ListExportMixin, GroupAdmin):
    """The role groups, shown but never changed here: what each role may do is declared by the apps in code and
    synchronised by every ``migrate``, and who holds it changes only through role grants. An editable permission list
    would let an administrator give a role an approval it does not have (and every holder with it); a post that tries
    anyway is refused and recorded."""

    readonly_fields = ("name", "permissions")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "POST":
            refuse(
                request,
                attempted="change a role's permissions",
                obj=self.get_object(request, unquote(object_id)) if object_id else None,
                reason="A role's permissions are declared in code and synchronised by migrate; holders change only "
                "through role grants.",
            )
        return super().changeform_view(request, object_id, form_url, extra_context)


def register(site: admin.AdminSite) -> None:
    """Replace django.contrib.auth's user and group admins (registered before this app's admin is discovered)."""
    if site.is_registered(User):
        site.unregister(User)
    site.register(User, PortalUserAdmin)
    if site.is_registered(Group):
        site.unregister(Group)
    site.register(Group, RoleGroupAdmin)


@admin.register(AccessReview)
class AccessReviewAdmin(ReadOnlyAuditAdmin, GovernedAdmin):
    """Reviews are opened by the scheduled task and attested on their signing page, where the owner ticks the
    members who should lose the role."""

    list_display = ("__str__", "state", "attested_by", "attested_at")
    list_filter = ("state", "role", "period_start")
    list_select_related = ("attested_by",)
    readonly_fields = ("role", "period_start", "state", "member_list", "removed", "note", "attested_by", "attested_at")
    exclude = ("members",)
    change_form_template = "admin/accounts/accessreview/change_form.html"

    @admin.display(description=_("members when the review opened"))
    def member_list(self, review: AccessReview) -> str:
        return format_html_join(
            ", ", "{} ({})", ((member["username"], member["basis"]) for member in review.members)
        ) or _("none")

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:pk>/attest/",
                self.admin_site.admin_view(self.attest_view),
                name="accounts_accessreview_attest",
            ),
            *super().get_urls(),
        ]

    def attest_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        review = get_object_or_404(AccessReview, pk=pk)
        back = reverse("admin:accounts_accessreview_change", args=[review.pk])
        return signing_view(
            request,
            admin_site=self.admin_site,
            record=review,
            meaning=f"Attest the {review.role} members (period from {review.period_start:%Y-%m-%d})",
            title=f"Attest: {review}",
            perform=lambda credentials: access_review_attest(
                review=review,
                attester=request.user,
                remove=request.POST.getlist("remove"),
                note=request.POST.get("note", ""),
                **credentials,
            ),
            success_url=back,
            success_message=f"{review} attested; removals chosen wait for a second person's approval.",
            cancel_url=back,
            summary_template="admin/accounts/accessreview/summary.html",
        )
