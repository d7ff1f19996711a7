"""Change control (SOC 2 CC8.1) for what risk officers set: a revision is proposed by one person and
takes effect only when a second person approves it with an electronic signature."""

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from audit.models.base import GovernedModel
from governance.choices import RevisionState


class ChangeControlledRevision(ConcurrentTransitionMixin, GovernedModel):
    revision = models.PositiveIntegerField(_("revision"))
    state = FSMField(
        _("state"),
        max_length=20,
        choices=RevisionState.choices,
        default=RevisionState.PENDING,
        protected=True,
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    proposed_at = models.DateTimeField(_("proposed at (UTC)"), default=timezone.now)
    rationale = models.TextField(_("rationale"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    decided_at = models.DateTimeField(_("decided at (UTC)"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)

    #: The decision is recorded on the revision as it is signed, so it cannot be part of what is signed.
    digest_exclude = ("decided_by", "decided_at", "decision_note")

    class Meta:
        abstract = True

    @staticmethod
    def scope_constraints(prefix: str) -> list[models.UniqueConstraint]:
        """The invariants of a kind of revision kept per use case and for the organisation (``use_case`` empty): one
        number per revision, one revision in effect and one pending at a time, in each scope. Each concrete model
        lists them in its ``Meta.constraints``, named after ``prefix`` (``threshold`` -> ``threshold_one_pending``)."""
        own, organisation = models.Q(use_case__isnull=False), models.Q(use_case__isnull=True)
        effective, pending = models.Q(state=RevisionState.EFFECTIVE), models.Q(state=RevisionState.PENDING)
        return [
            models.UniqueConstraint(fields=["use_case", "revision"], condition=own, name=f"{prefix}_revision_unique"),
            models.UniqueConstraint(
                fields=["revision"], condition=organisation, name=f"{prefix}_default_revision_unique"
            ),
            models.UniqueConstraint(fields=["use_case"], condition=effective & own, name=f"{prefix}_one_effective"),
            models.UniqueConstraint(
                fields=["state"], condition=effective & organisation, name=f"{prefix}_default_one_effective"
            ),
            models.UniqueConstraint(fields=["use_case"], condition=pending & own, name=f"{prefix}_one_pending"),
            models.UniqueConstraint(
                fields=["state"], condition=pending & organisation, name=f"{prefix}_default_one_pending"
            ),
        ]

    @transition(field=state, source=RevisionState.PENDING, target=RevisionState.EFFECTIVE)
    def approve(self) -> None:
        """Take effect."""

    @transition(field=state, source=RevisionState.PENDING, target=RevisionState.REJECTED)
    def reject(self) -> None:
        """Never take effect."""

    @transition(field=state, source=RevisionState.EFFECTIVE, target=RevisionState.SUPERSEDED)
    def supersede(self) -> None:
        """Replaced by a newer effective revision."""

    def content(self) -> dict[str, Any]:
        """The revision's substance (its rows), for the ledger, the signed digest and the diff view."""
        raise NotImplementedError

    def digest_related(self) -> dict[str, Any]:
        return self.content()
