"""The required provenance facts per environment in the admin: the revisions (decided on the pages every
change-controlled revision shares) and the page a Risk Officer proposes a new revision on."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _

from accounts.admin.actions import attach_service_errors, may, refuse
from audit.ledger import ActionDenied
from governance.admin.revisions import RevisionAdmin
from governance.models import UseCase
from registry.admin.pages import form_page_response
from registry.choices import Environment
from registry.completeness import fact_catalogue
from registry.models import ProvenanceRequirement
from registry.services.completeness import (
    CONFIGURABLE_ENVIRONMENTS,
    PROPOSE,
    effective_requirement,
    provenance_requirement_propose,
)


def _fact_choices() -> list[tuple[str, str]]:
    return [(kind.key, f"{kind.record}: {kind.label} ({kind.key})") for kind in fact_catalogue()]


class RequirementForm(forms.Form):
    """Which facts each configurable environment requires; production always requires every one."""

    use_case = forms.ModelChoiceField(
        queryset=UseCase.objects.order_by("name"),
        required=False,
        empty_label="The organisation (every use case without its own)",
    )
    rationale = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        for environment in CONFIGURABLE_ENVIRONMENTS:
            self.fields[environment] = forms.MultipleChoiceField(
                label=f"Required for {Environment(environment).label}",
                choices=_fact_choices(),
                required=False,
                widget=forms.CheckboxSelectMultiple,
            )


@admin.register(ProvenanceRequirement)
class ProvenanceRequirementAdmin(RevisionAdmin):
    list_filter = ("state", ("use_case", admin.EmptyFieldListFilter))
    list_select_related = ("use_case", "proposed_by", "decided_by")
    change_list_template = "admin/registry/provenancerequirement/change_list.html"
    exclude = ("revision", "use_case", "decision_note", "required_facts")

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "propose/",
                self.admin_site.admin_view(self.propose_view),
                name="registry_provenancerequirement_propose",
            ),
            *super().get_urls(),
        ]

    def propose_view(self, request: HttpRequest) -> HttpResponse:
        """A new revision of the required facts, pending until a second Risk Officer approves it."""
        if not may(request, PROPOSE):
            refuse(request, attempted="provenance_requirement_propose")
        current = effective_requirement(None)
        initial = dict(current.required_facts) if current else {}
        form = RequirementForm(request.POST or None, initial=initial)
        status = 200
        if request.method == "POST":
            status = 400
            if form.is_valid():
                data = form.cleaned_data
                try:
                    proposal = provenance_requirement_propose(
                        use_case=data["use_case"],
                        actor=request.user,
                        required_facts={env: data[env] for env in CONFIGURABLE_ENVIRONMENTS},
                        rationale=data["rationale"],
                    )
                except ActionDenied as denial:
                    form.add_error(None, denial.reason)
                    status = 409
                except ValidationError as error:
                    attach_service_errors(form, error)
                else:
                    messages.success(
                        request, f"Revision {proposal.revision} proposed; a second Risk Officer approves it."
                    )
                    return HttpResponseRedirect(
                        reverse("admin:registry_provenancerequirement_change", args=[proposal.pk])
                    )
        return form_page_response(
            request,
            model_admin=self,
            form=form,
            title="Propose the required provenance facts",
            submit_label=_("Propose"),
            cancel_url=reverse("admin:registry_provenancerequirement_changelist"),
            intro=_(
                "Production requires every fact whatever this says. The revision takes effect when a second Risk "
                "Officer approves it with their signature."
            ),
            status=status,
        )
