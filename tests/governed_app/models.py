from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from audit.models import GovernedModel


class Memo(ConcurrentTransitionMixin, GovernedModel):
    """A governed document with a two-step workflow, shaped like the domain's requirements documents."""

    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    amount = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    status = FSMField(default="draft", protected=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.title

    @transition(field=status, source="draft", target="published")
    def publish(self) -> None:
        """Publish the memo."""
