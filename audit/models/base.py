"""The base of every governed model: history, ledger capture and writes that cannot skip them.

A model becomes governed in one line, by inheriting ``GovernedModel``: it gets a simple-history table
(whose rows become ledger entries, see ``audit.capture``), a queryset that refuses the bulk writes
that would skip history and the ledger, and a digest of its governed fields that electronic signatures
are bound to. Its history table still needs its append-only triggers: add
``audit.operations.MakeAppendOnly("historical<model>")`` to the migration that creates it (a test
fails for any history table without them).
"""

from typing import Any, ClassVar

from django.db import models
from simple_history.models import HistoricalRecords


def _history_user(instance: models.Model, request: Any = None, **kwargs: Any) -> Any:
    from audit.capture import history_user

    return history_user(instance, request)


class GovernedWriteRefused(Exception):
    """A write that would bypass history and the audit ledger was attempted."""


class GovernedHistoricalRecords(HistoricalRecords):
    """simple-history's history, with one addition: a governed model may name its history table
    (``history_db_table``), so a model that moves to another app keeps its history where it is."""

    def get_meta_options(self, model: type[models.Model]) -> dict[str, Any]:
        options = super().get_meta_options(model)
        table = getattr(model, "history_db_table", "")
        if table:
            options["db_table"] = table
        return options


class GovernedQuerySet(models.QuerySet):
    """Refuses bulk writes: they send no signals, so they would leave no history and no ledger entry.

    Django's own ``save()`` and deletion use lower-level paths and are unaffected.
    """

    def _refuse(self, operation: str) -> None:
        raise GovernedWriteRefused(
            f"{operation}() on {self.model._meta.label} would skip its history and the audit ledger; "
            "change governed records one by one through their service."
        )

    def update(self, **kwargs: Any) -> int:
        self._refuse("update")
        return 0

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        self._refuse("bulk_update")
        return 0

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list:
        self._refuse("bulk_create")
        return []


class GovernedModel(models.Model):
    """Abstract base for every model whose changes are evidence."""

    #: Fields left out of the signed digest besides FSM state fields and auto-updated timestamps, which
    #: change as a result of signing and so cannot be part of what is signed.
    digest_exclude: ClassVar[tuple[str, ...]] = ()
    #: The history table's name, when it is not the default (a model that moved from another app keeps its own).
    history_db_table: ClassVar[str] = ""
    #: The types (``app_label.model``) the ledger named this model by before it moved to another app; its
    #: history is read under all of them (``audit.canonical.ledger_labels``).
    former_ledger_labels: ClassVar[tuple[str, ...]] = ()

    objects = GovernedQuerySet.as_manager()
    # History rows point at their user with SET_NULL, which the append-only triggers would refuse; deleting a
    # person who acted is refused earlier and cleanly, by the ledger's PROTECT foreign key to the actor.
    history = GovernedHistoricalRecords(inherit=True, get_user=_history_user)

    class Meta:
        abstract = True

    def full_clean(self, exclude: Any = None, validate_unique: bool = True, validate_constraints: bool = True) -> None:
        """Validate everything but protected state-machine fields, which only transitions may set (cleaning
        would assign them)."""
        from django_fsm import FSMFieldMixin

        fsm_fields = {f.name for f in self._meta.concrete_fields if isinstance(f, FSMFieldMixin)}
        super().full_clean(
            exclude=set(exclude or ()) | fsm_fields,
            validate_unique=validate_unique,
            validate_constraints=validate_constraints,
        )

    def ledger_label(self) -> str:
        """How this record is named in the ledger and in evidence packs."""
        return str(self)[:300]
