"""Pages every signed-in person has for themselves, reached from the user menu: "My notifications" (which kinds of
e-mail they receive) and "My delegations" (who signs their reviews while they are away)."""

from datetime import UTC, datetime, time, timedelta

from django import forms
from django.contrib import messages
from django.contrib.admin import AdminSite
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.admin.actions import attach_service_errors
from accounts.authz import roles_of
from accounts.choices import NotificationKind, Role
from accounts.models import Delegation, NotificationOptOut
from accounts.services.delegations import delegation_create, delegation_end
from accounts.services.notification_preferences import notification_preferences_set
from audit.ledger import ActionDenied


class NotificationPreferencesForm(forms.Form):
    enabled = forms.MultipleChoiceField(
        label=_("E-mail me when"),
        choices=NotificationKind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


def notifications_view(request: HttpRequest, *, admin_site: AdminSite) -> HttpResponse:
    """The signed-in person's notification kinds: ticked ones are e-mailed, unticked ones are not."""
    off = set(NotificationOptOut.objects.filter(user=request.user).values_list("kind", flat=True))
    initial = {"enabled": [kind for kind in NotificationKind.values if kind not in off]}
    # Unticking every box posts nothing but the CSRF token: still a submitted form.
    form = NotificationPreferencesForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                notification_preferences_set(user=request.user, enabled=form.cleaned_data["enabled"])
            except ValidationError as error:
                attach_service_errors(form, error, field="enabled")
            else:
                messages.success(request, _("Your notification settings are saved."))
                return HttpResponseRedirect(reverse("admin:my_notifications"))
    context = {
        **admin_site.each_context(request),
        "title": _("My notifications"),
        "form": form,
        "email": request.user.email,
    }
    return TemplateResponse(request, "admin/accounts/my_notifications.html", context, status=status)


class DelegationForm(forms.Form):
    """What ``delegation_create`` needs; the service checks it all again and has the last word."""

    role = forms.ChoiceField(label=_("Role"), choices=())
    delegate = forms.CharField(label=_("Delegate's username"), max_length=150)
    starts = forms.DateField(label=_("From (first day away, UTC)"), widget=forms.DateInput(attrs={"type": "date"}))
    ends = forms.DateField(label=_("Until (last day away, UTC)"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: object, roles: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(role.value, role.label) for role in Role if role.value in roles]

    def clean_delegate(self) -> object:
        username = self.cleaned_data["delegate"].strip()
        person = get_user_model().objects.filter(username=username, is_active=True).first()
        if person is None:
            raise ValidationError(_("Nobody active has that username."))
        return person

    def period(self) -> tuple[datetime, datetime]:
        """Whole days in UTC: from the first day's midnight to the midnight after the last day."""
        start = datetime.combine(self.cleaned_data["starts"], time.min, tzinfo=UTC)
        end = datetime.combine(self.cleaned_data["ends"], time.min, tzinfo=UTC) + timedelta(days=1)
        return start, end


def delegations_view(request: HttpRequest, *, admin_site: AdminSite) -> HttpResponse:
    """The person's delegations, both ways (theirs while away, and those they stand in for), and a form to add
    one. Ending one is a button on each of their own."""
    form = DelegationForm(request.POST if request.method == "POST" else None, roles=sorted(roles_of(request.user)))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            starts, ends = form.period()
            try:
                delegation = delegation_create(
                    delegator=request.user,
                    delegate=form.cleaned_data["delegate"],
                    role=form.cleaned_data["role"],
                    starts=starts,
                    ends=ends,
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                )
            except ValidationError as error:
                attach_service_errors(form, error)
            except ActionDenied as denial:
                form.add_error(None, denial.reason)
                status = 403
            else:
                messages.success(request, _("%s stands in for you as agreed.") % delegation.delegate)
                return HttpResponseRedirect(reverse("admin:my_delegations"))
    mine = Delegation.objects.filter(delegator=request.user).select_related("delegate")
    for_others = Delegation.objects.filter(delegate=request.user).select_related("delegator")
    context = {
        **admin_site.each_context(request),
        "title": _("My delegations"),
        "form": form,
        "mine": mine[:50],
        "for_others": for_others[:50],
        "now": timezone.now(),
    }
    return TemplateResponse(request, "admin/accounts/my_delegations.html", context, status=status)


def delegation_end_view(request: HttpRequest, pk: int, *, admin_site: AdminSite) -> HttpResponse:
    """POST only: end one of the person's delegations now."""
    if request.method != "POST":
        return HttpResponseRedirect(reverse("admin:my_delegations"))
    delegation = get_object_or_404(Delegation, pk=pk)
    try:
        delegation_end(delegation=delegation, actor=request.user)
    except ActionDenied as denial:
        messages.error(request, denial.reason)
        return HttpResponseRedirect(reverse("admin:my_delegations"))
    messages.success(request, _("The delegation has ended."))
    return HttpResponseRedirect(reverse("admin:my_delegations"))
