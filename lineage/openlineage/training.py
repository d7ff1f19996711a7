"""Training jobs: the extension point through which a later app (the registry) turns an OpenLineage job that trains a
model into a training run.

Lineage may not import the registry, so the registry registers a handler here from its ``AppConfig.ready()``; the
intake calls it inside the event's transaction with what the event says (a ``TrainingJob``). Without a handler a
training job is refused with a 400, as it cannot be recorded as a transformation step either.
"""

import datetime
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError

from lineage.choices import OpenLineageEventType
from lineage.models import DatasetVersion
from lineage.openlineage.events import TRAINING_FACET, RunEvent

#: ``jobType`` facet values that mean "this job trains a model".
TRAINING_JOB_TYPES = frozenset({"TRAINING", "TRAIN", "MODEL_TRAINING", "FINE_TUNING", "FINETUNING"})
#: The events of a training job that carry the ``portal_training`` run facet (what registers, what completes).
NEEDS_FACET = frozenset({OpenLineageEventType.START, OpenLineageEventType.COMPLETE})


@dataclass(frozen=True)
class TrainingJob:
    """One event of a training job, as the handler needs it."""

    event_type: str
    event_time: datetime.datetime
    run_id: uuid.UUID
    job: str  # namespace/name
    producer: str
    facet: dict[str, Any]  # the ``portal_training`` run facet as sent (empty when absent)
    job_facets: dict[str, Any]  # the standard facets, summarised (``sourceCodeLocation``, ``errorMessage`` ...)
    actor: AbstractBaseUser
    use_case_ids: Collection[int]
    training_data: list[DatasetVersion] = field(default_factory=list)  # the START's input versions


TrainingJobHandler = Callable[[TrainingJob], None]
_handlers: list[TrainingJobHandler] = []


def register_training_job_handler(handler: TrainingJobHandler) -> None:
    """Called from the registry's ``ready()``; the last one registered handles training jobs."""
    _handlers[:] = [handler]


def training_job_handler() -> TrainingJobHandler | None:
    return _handlers[0] if _handlers else None


def job_type(event: RunEvent) -> str:
    return str(event.facets.get("jobType", {}).get("jobType", "")).upper()


def is_training_job(event: RunEvent) -> bool:
    return job_type(event) in TRAINING_JOB_TYPES


def check_training_job(event: RunEvent) -> None:
    """400 unless a training job can be recorded: a handler is registered, and START and COMPLETE carry the
    ``portal_training`` facet (without it the event says nothing that registers or completes a training run)."""
    kind = job_type(event)
    if training_job_handler() is None:
        raise ValidationError(
            {
                "job.facets.jobType": f"A {kind} job is a training run: register it with POST "
                "/api/v1/training-runs, which records what reproduces it and checks that its data is approved."
            }
        )
    if event.event_type in NEEDS_FACET and event.training_facet is None:
        raise ValidationError(
            {
                "job.facets.jobType": f"A {kind} job is a training run: send its {TRAINING_FACET} run facet (what "
                "reproduces the run) with its START and COMPLETE, or register it with POST /api/v1/training-runs.",
                f"run.facets.{TRAINING_FACET}": f"Missing: a {kind} job's {event.event_type} needs this facet.",
            }
        )
