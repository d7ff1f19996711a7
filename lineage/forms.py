"""Forms of the lineage pages. They check what a person typed and say what to fix beside the field; the
services check it again, with permission and state, when they write."""

import json
import re
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from governance.models import Policy
from lineage.choices import DataCategory, PrivacyControl, SourceStatus
from lineage.models import (
    Dataset,
    DatasetVersion,
    LineageRecord,
    LineageSource,
    LineageTemplate,
    SourceSystem,
    TransformationStep,
)
from lineage.models.synthetic import SyntheticMarker, clean_languages
from lineage.services import MAX_PARAMETER_BYTES, clean_parameters, same_content_refusal

#: Typed parameters may carry indentation and spacing; what counts is the canonical size the service checks.
MAX_PARAMETER_TEXT = 4 * MAX_PARAMETER_BYTES
#: Versions named in one go (parents of a new version).
MAX_PARENTS = 20
#: Version numbers typed by hand stay below this (nine digits): a longer one is a typing mistake.
MAX_TYPED_NUMBER = 10**9


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: AbstractBaseUser) -> str:
        full_name = obj.get_full_name()
        return f"{full_name} ({obj.get_username()})" if full_name else obj.get_username()


def active_people() -> Any:
    return get_user_model().objects.filter(is_active=True).order_by("username")


class AdminStyled:
    """Mixed into a form: text inputs as wide as the admin's own forms make them."""

    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if type(widget) in (forms.TextInput, forms.Textarea):
                css = "vLargeTextField" if isinstance(widget, forms.Textarea) else "vTextField"
                widget.attrs.setdefault("class", css)


def _checkboxes(choices: Any, label: str) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(choices=choices, required=False, label=label, widget=forms.CheckboxSelectMultiple)


class SourceSystemForm(AdminStyled, forms.ModelForm):
    owner = PersonChoiceField(queryset=active_people(), label=_("Owner"))
    data_categories = _checkboxes(DataCategory.choices, _("Data categories"))

    class Meta:
        model = SourceSystem
        fields = ("name", "kind", "owner", "default_retention_days", "data_categories", "description")


class DatasetForm(AdminStyled, forms.ModelForm):
    steward = PersonChoiceField(queryset=active_people(), label=_("Data steward"))

    class Meta:
        model = Dataset
        fields = ("slug", "name", "steward", "use_case", "description")


def parse_identifiers(text: str) -> list[DatasetVersion]:
    """``support-chats@3, support-chats-redacted@1`` -> those versions, in that order, in one query."""
    names = list(dict.fromkeys(part.strip() for part in re.split(r"[,\s]+", text) if part.strip()))
    if len(names) > MAX_PARENTS:
        raise ValidationError(_("Name at most %(limit)d versions at once.") % {"limit": MAX_PARENTS})
    split = {name: DatasetVersion.objects.split_identifier(name) for name in names}
    malformed = [name for name, named in split.items() if named is None or named[1] >= MAX_TYPED_NUMBER]
    if malformed:
        raise ValidationError(
            f"Give each version as dataset@number, e.g. support-chats@3 (not {', '.join(malformed)})."
        )
    wanted = [split[name] for name in names]
    query = Q()
    for slug, number in wanted:
        query |= Q(dataset__slug=slug, number=number)
    found = {(v.dataset.slug, v.number): v for v in DatasetVersion.objects.filter(query).select_related("dataset")}
    missing = [name for name, key in zip(names, wanted, strict=True) if key not in found]
    if missing:
        raise ValidationError(f"No such dataset version: {', '.join(missing)}.")
    return [found[key] for key in wanted]


class DatasetVersionForm(AdminStyled, forms.ModelForm):
    template = forms.ModelChoiceField(
        queryset=LineageTemplate.objects.order_by("name"),
        required=False,
        label=_("Lineage template"),
        help_text=_(
            "Pre-fills the lineage record (sensitivity, categories, retention, controls) and any sampling method "
            "or filters left empty here."
        ),
    )
    parents = forms.CharField(
        required=False,
        max_length=2000,
        label=_("Derived from"),
        help_text=_("The versions it was made from, comma-separated, e.g. support-chats@3. Leave empty for none."),
    )

    class Meta:
        model = DatasetVersion
        fields = ("dataset", "content_digest", "row_count", "size_bytes", "storage_uri", "sampling_method", "filters")
        widgets = {"filters": forms.Textarea(attrs={"rows": 3})}

    def clean_parents(self) -> list[DatasetVersion]:
        return parse_identifiers(self.cleaned_data["parents"])

    def clean(self) -> dict[str, Any]:
        """Content the dataset already has a version of is refused beside the digest, naming that version, as
        ``dataset_version_create`` (which decides, under the dataset's lock) would; the model's own unique check
        could only say that some version has it."""
        cleaned = super().clean()
        dataset, content = cleaned.get("dataset"), cleaned.get("content_digest")
        refusal = same_content_refusal(dataset=dataset, content_digest=content) if dataset and content else None
        if refusal is not None:
            self.add_error(None, refusal)
        return cleaned


class LineageRecordForm(AdminStyled, forms.ModelForm):
    data_categories = _checkboxes(DataCategory.choices, _("Data categories"))
    privacy_controls = _checkboxes(PrivacyControl.choices, _("Privacy controls applied"))
    policies = forms.ModelMultipleChoiceField(
        queryset=Policy.objects.order_by("code"), required=False, label=_("Policies")
    )

    class Meta:
        model = LineageRecord
        fields = (
            "sensitivity",
            "data_categories",
            "consent_scope",
            "retention_days",
            "retention_basis",
            "privacy_controls",
            "policies",
            "dpia_reference",
            "notes",
        )
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}


SYNTHETIC_FORM_FIELDS = ("synthetic", *SyntheticMarker.SYNTHETIC_FIELDS)


class LanguagesField(forms.CharField):
    """BCP 47 tags typed separated by commas or spaces, kept as a normalised list."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 1000)
        super().__init__(required=False, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list) else value

    def clean(self, value: Any) -> list[str]:
        text = super().clean(value)
        return clean_languages([tag for tag in re.split(r"[,\s]+", text) if tag])


class LineageSourceForm(AdminStyled, forms.ModelForm):
    source_system = forms.ModelChoiceField(
        queryset=SourceSystem.objects.filter(status=SourceStatus.ACTIVE).order_by("name"),
        label=_("Source system"),
        help_text=_("Only active source systems; no new data may come from a decommissioned one."),
    )
    languages = LanguagesField(
        label=_("Languages"), help_text=_("BCP 47 tags separated by commas, e.g. en, de-CH, fr.")
    )

    class Meta:
        model = LineageSource
        fields = (
            "source_system",
            "legal_basis",
            "special_category",
            "article9_condition",
            "period_start",
            "period_end",
            "extract",
            "languages",
            *SYNTHETIC_FORM_FIELDS,
        )
        widgets = {
            "period_start": forms.DateInput(attrs={"type": "date"}),
            "period_end": forms.DateInput(attrs={"type": "date"}),
            "extract": forms.Textarea(attrs={"rows": 3}),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and start > end:
            self.add_error("period_end", _("The period ends before it starts."))
        return data


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


class TransformationStepForm(AdminStyled, forms.ModelForm):
    parameters = forms.CharField(
        required=False,
        label=_("Parameters"),
        widget=forms.Textarea(attrs={"rows": 6, "class": "vLargeTextField"}),
        help_text=_(
            'A JSON object, e.g. {"entities": ["IBAN", "CREDIT_CARD"], "threshold": 0.8}: at most 16 KiB and '
            "8 levels deep. Reference large configuration by its digest."
        ),
    )

    class Meta:
        model = TransformationStep
        fields = ("kind", "tool", "code_version", "parameters", "input_digest", "output_digest", *SYNTHETIC_FORM_FIELDS)

    def clean_parameters(self) -> dict[str, Any]:
        text = self.cleaned_data["parameters"].strip()
        if not text:
            return {}
        size = len(text.encode())
        if size > MAX_PARAMETER_TEXT:
            raise ValidationError(
                f"Parameters take {size} bytes; the limit is {MAX_PARAMETER_BYTES}. Store large configuration "
                "as a file and reference its digest."
            )
        try:
            value = json.loads(text, parse_constant=_reject_constant)
        except RecursionError:
            raise ValidationError("Parameters are nested deeper than 8 levels.") from None
        except ValueError as error:
            raise ValidationError(f"Parameters are not valid JSON: {error}") from None
        try:
            return clean_parameters(value)
        except ValidationError as error:
            raise ValidationError(error.message_dict["parameters"]) from None


class ParentVersionForm(AdminStyled, forms.Form):
    parent = forms.CharField(
        max_length=200,
        label=_("Derived from"),
        help_text=_("The version this one was made from, e.g. support-chats@3."),
    )

    def __init__(self, *args: Any, child: DatasetVersion, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.child = child

    def clean_parent(self) -> DatasetVersion:
        versions = parse_identifiers(self.cleaned_data["parent"])
        if len(versions) != 1:
            raise ValidationError(_("Name one version."))
        if versions[0].pk == self.child.pk:
            raise ValidationError(f"{self.child} cannot derive from itself.")
        return versions[0]


class AssignReviewerForm(forms.Form):
    reviewer = PersonChoiceField(queryset=get_user_model().objects.none(), label=_("Reviewer"))

    def __init__(self, *args: Any, group: str | None, **kwargs: Any) -> None:
        """``group``: the stage's role; with no stage anyone may be named, and the service says why not."""
        super().__init__(*args, **kwargs)
        people = active_people()
        self.fields["reviewer"].queryset = people.filter(groups__name=group) if group else people
