from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from accounts.admin.role_gated import RoleGatedAdmin
from audit.admin.governed import GovernedAdmin
from governance.choices import RetrainingTrigger
from governance.models import RetrainingCadence
from governance.services.retraining import retraining_cadence_set


class RetrainingCadenceForm(forms.ModelForm):
    triggers = forms.MultipleChoiceField(
        choices=RetrainingTrigger.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = RetrainingCadence
        fields = ("use_case", "schedule", "triggers")


@admin.register(RetrainingCadence)
class RetrainingCadenceAdmin(RoleGatedAdmin, GovernedAdmin):
    form = RetrainingCadenceForm
    list_display = ("use_case", "schedule", "last_retrained_at", "next_due_at", "due_since", "due_reason")
    list_filter = ("schedule", ("due_since", admin.EmptyFieldListFilter))
    list_select_related = ("use_case",)
    readonly_fields = ("last_retrained_at", "due_since", "due_reason")

    def save_model(self, request: HttpRequest, obj: RetrainingCadence, form: Any, change: bool) -> None:
        saved = retraining_cadence_set(
            use_case=form.cleaned_data["use_case"],
            actor=request.user,
            schedule=form.cleaned_data["schedule"],
            triggers=form.cleaned_data["triggers"],
        )
        obj.pk = saved.pk
