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
