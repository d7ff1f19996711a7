from django.contrib.auth.models import AbstractBaseUser
from django.db import models

from audit.ledger import ActionDenied


class GateBlocked(ActionDenied):
    """A gate refused: the record is not in a state that allows the action. Carries every reason, so the
    person (or pipeline) learns all there is to fix at once; recorded in the ledger like any refusal."""

    def __init__(
        self, reasons: list[str], *, actor: AbstractBaseUser | None, attempted: str, obj: models.Model | None = None
    ):
        self.reasons = list(reasons)
        super().__init__(" ".join(self.reasons), actor=actor, attempted=attempted, obj=obj)
