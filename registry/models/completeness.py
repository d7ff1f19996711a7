from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from governance.models.revisions import ChangeControlledRevision
from governance.revision_changes import ABSENT, RevisionChange


class ProvenanceRequirement(ChangeControlledRevision):
    """One revision of which provenance facts (keys of the fact catalogue, ``registry.completeness``) a model version
    and everything it was built from must have before it may go to test or staging. Production requires every fact
    whatever a revision says, so it is not listed. Change-controlled like thresholds: a Risk Officer proposes, a
    second one approves with an electronic signature; the use case's own revision wins over the organisation's
    (``use_case`` empty)."""

    use_case = models.ForeignKey(
        "governance.UseCase",
        verbose_name=_("use case"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text=_("Empty: the organisation's requirement."),
    )
    #: Environment -> the fact keys required there, sorted (production is always every fact).
    required_facts = models.JSONField(_("required facts per environment"), default=dict)

    class Meta:
        verbose_name = _("provenance requirement")
        ordering = ["use_case_id", "-revision"]
        constraints = ChangeControlledRevision.scope_constraints("provenance_requirement")
        permissions = [("approve_provenancerequirement", _("Can approve a provenance requirement revision"))]

    def __str__(self) -> str:
        scope = self.use_case or _("organisation")
        return f"Provenance requirement {scope} r{self.revision} ({self.get_state_display()})"

    def content(self) -> dict[str, Any]:
        """Environment -> {fact key: "required"}: the shape every change-controlled revision's page shows."""
        return {
            environment: {key: "required" for key in sorted(keys)}
            for environment, keys in sorted(self.required_facts.items())
        }

    def readable_content(self) -> list[tuple[str, list[str]]]:
        """Each environment with the facts it requires, by label and key ("hardware (run.hardware)")."""
        return [
            (_environment_label(environment), [_fact_label(key) for key in sorted(keys)])
            for environment, keys in sorted(self.required_facts.items())
        ]

    def describe_change(self, path: str, before: Any, after: Any) -> RevisionChange:
        """One fact made required or no longer required in one environment, or a whole environment's list."""
        environment, _dot, key = path.partition(".")
        label = _environment_label(environment)
        if not key:
            return RevisionChange(label, _fact_list(before), _fact_list(after))
        return RevisionChange(
            f"{label}: {_fact_label(key)}",
            "required" if before else "not required",
            "required" if after else "not required",
        )


def _environment_label(environment: str) -> str:
    from registry.choices import Environment

    return str(Environment(environment).label) if environment in Environment.values else environment


def _fact_label(key: str) -> str:
    from registry.completeness import fact_catalogue  # the catalogue reads the models: imported when first needed

    labels = {kind.key: kind.label for kind in fact_catalogue()}
    return f"{labels[key]} ({key})" if key in labels else key


def _fact_list(facts: Any) -> str:
    return ", ".join(_fact_label(key) for key in facts or ()) or ABSENT
