"""The registry's admin base: browsing only (pipelines create everything through the services), the audit trail
of every governed record, and the "data no longer approved" flag that lists and pages share."""

from django.contrib import admin
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from audit.admin import GovernedAdmin, ReadOnlyAuditAdmin
from lineage.choices import DatasetVersionState
from registry.models import TrainingRunDataset
from registry.selectors import model_versions_on_unapproved_data


class RegistryAdmin(ReadOnlyAuditAdmin, GovernedAdmin):
    """A governed registry record: browsed, with its audit trail; never added, changed or deleted in a generic
    form. Its own page's buttons call the services."""


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


def on_unapproved_data(model_version_ref: str) -> Exists:
    """True where the model version at ``model_version_ref`` (a field of the outer row) was trained on a dataset
    version that is no longer approved: one subquery in the list's own query, whatever the number of rows."""
    return Exists(model_versions_on_unapproved_data().filter(pk=OuterRef(model_version_ref)))


def unapproved_links(run_path: str) -> Prefetch:
    """Prefetch, as ``unapproved_links`` on the training run at ``run_path``, the links to its dataset versions
    that are no longer approved (one query for the whole page), so a flag can name them."""
    links = (
        TrainingRunDataset.objects.exclude(dataset_version__state=DatasetVersionState.APPROVED)
        .select_related("dataset_version__dataset")
        .order_by("dataset_version__dataset__slug", "dataset_version__number")
    )
    return Prefetch(f"{run_path}__dataset_links", queryset=links, to_attr="unapproved_links")


def data_flag(flagged: bool, run: object) -> str:
    """The flag as a list cell: the dataset versions named, with the state each is in now."""
    if not flagged:
        return "-"
    links = getattr(run, "unapproved_links", [])
    names = format_html_join(
        ", ", "{} ({})", ((link.dataset_version, link.dataset_version.get_state_display().lower()) for link in links)
    )
    return format_html('<span class="data-flag">{}: {}</span>', _("Data no longer approved"), names)


class UnapprovedDataFilter(admin.SimpleListFilter):
    """Filter on the ``data_unapproved`` annotation the admin's queryset carries."""

    title = _("training data")
    parameter_name = "data"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("unapproved", _("no longer approved")), ("approved", _("approved"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "unapproved":
            return queryset.filter(data_unapproved=True)
        if self.value() == "approved":
            return queryset.filter(data_unapproved=False)
        return queryset
