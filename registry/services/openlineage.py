"""Training jobs reported through OpenLineage (``POST /api/v1/lineage``) become training runs.

Registered as lineage's training job handler by ``RegistryConfig.ready()`` (lineage may not import the registry).
A job is a training job when its ``jobType`` facet's ``jobType`` is ``TRAINING`` (or ``TRAIN``, ``MODEL_TRAINING``,
``FINE_TUNING``); the token then needs ``runs:write`` besides ``lineage:write``. Each event is handled in the
intake's transaction, through the same services as ``POST /api/v1/training-runs``:

- **START** registers the run (``training_run_register``): its ``run_id`` is the OpenLineage ``runId``; the code
  repository and commit are the ``sourceCodeLocation`` job facet's ``url`` and ``version``; the data it trains on
  is the event's input dataset versions (slug, with the ``version`` facet's ``datasetVersion``: number,
  ``slug@n`` or content digest). Data not approved for training is refused (409, every offending version named).
- **COMPLETE** completes it (``training_run_complete``) with the output weights digest and metrics.
- **FAIL** and **ABORT** mark it failed (``training_run_fail``), with the ``errorMessage`` facet's message.

What OpenLineage has no standard facet for comes in the custom run facet ``portal_training`` (``_producer`` and
``_schemaURL`` as for any facet; other fields are ignored):

- on START: ``useCase`` (the use case's slug; the token must reach it), ``baseModel`` (its id, or
  ``{"provider", "name", "version"}``), ``config`` (object), ``hyperparameters``, ``randomSeeds``,
  ``libraryVersions`` (objects, optional), ``hardware``, ``containerImageDigest``, ``decisionLog`` (text), and
  optionally ``configHash`` (checked against ``config``);
- on COMPLETE: ``outputWeightsDigest``, and optionally ``metrics`` (object) and ``checkpoints`` (list).

A missing or malformed field is a 400 naming it (``run.facets.portal_training.baseModel``).
"""

from typing import Any

from django.core.exceptions import ValidationError
from rest_framework import serializers

from accounts.api.exceptions import UNKNOWN_RECORD
from accounts.api.serializers import StrictSerializer
from audit.ledger import ActionDenied
from governance.models import UseCase
from lineage.choices import OpenLineageEventType
from lineage.openlineage.events import TRAINING_FACET
from lineage.openlineage.training import TrainingJob
from registry.api.serializers import BaseModelField
from registry.choices import TrainingRunStatus
from registry.models import TrainingRun
from registry.services.training import training_run_complete, training_run_fail, training_run_register

FACET_PATH = f"run.facets.{TRAINING_FACET}"


class TrainingStartFacet(StrictSerializer):
    useCase = serializers.SlugField()
    baseModel = BaseModelField()
    config = serializers.DictField()
    hyperparameters = serializers.DictField(required=False, default=dict)
    randomSeeds = serializers.DictField(required=False, default=dict)
    hardware = serializers.CharField(max_length=200)
    containerImageDigest = serializers.CharField(max_length=100)
    libraryVersions = serializers.DictField(required=False, default=dict)
    decisionLog = serializers.CharField()
    configHash = serializers.CharField(max_length=64, required=False, default="")

    def validate_useCase(self, slug: str) -> UseCase:
        use_case = UseCase.objects.filter(slug=slug).first()
        if use_case is None:
            raise serializers.ValidationError(f"No use case {slug!r}.", code=UNKNOWN_RECORD)
        return use_case


class TrainingCompleteFacet(StrictSerializer):
    outputWeightsDigest = serializers.CharField(max_length=64)
    metrics = serializers.DictField(required=False, default=dict)
    checkpoints = serializers.ListField(required=False, default=list)


def _facet(job: TrainingJob, shape: type[serializers.Serializer]) -> dict[str, Any]:
    given = shape(data=job.facet)
    if not given.is_valid():
        raise ValidationError(
            {
                f"{FACET_PATH}.{name}": [
                    ValidationError(str(message), code=getattr(message, "code", None)) for message in messages
                ]
                for name, messages in given.errors.items()
            }
        )
    return dict(given.validated_data)


def _code_location(job: TrainingJob) -> tuple[str, str]:
    location = job.job_facets.get("sourceCodeLocation", {})
    repository, commit = location.get("url") or location.get("repoUrl") or "", location.get("version") or ""
    missing = {
        f"job.facets.sourceCodeLocation.{name}": f"A training job's {job.event_type} needs its code's {what} here."
        for name, value, what in (("url", repository, "repository"), ("version", commit, "commit"))
        if not value
    }
    if missing:
        raise ValidationError(missing)
    return repository, commit


def _check_use_case(job: TrainingJob, use_case_id: int, obj: Any, attempted: str) -> None:
    if use_case_id not in job.use_case_ids:
        raise ActionDenied(
            "This token is not issued for the use case of this training run.",
            actor=job.actor,
            attempted=attempted,
            obj=obj,
        )


def _registered(job: TrainingJob) -> TrainingRun | None:
    return TrainingRun.objects.select_related("use_case").filter(run_id=str(job.run_id)).first()


def _start(job: TrainingJob) -> None:
    facet = _facet(job, TrainingStartFacet)
    repository, commit = _code_location(job)
    use_case = facet.pop("useCase")
    _check_use_case(job, use_case.pk, use_case, "training_run_register")
    if not job.training_data:
        raise ValidationError({"inputs": "A training run's START names the dataset versions it trains on as inputs."})
    training_run_register(
        actor=job.actor,
        run_id=str(job.run_id),
        use_case=use_case,
        base_model=facet["baseModel"],
        dataset_versions=job.training_data,
        code_repository=repository,
        code_commit=commit,
        config=facet["config"],
        hyperparameters=facet["hyperparameters"],
        random_seeds=facet["randomSeeds"],
        hardware=facet["hardware"],
        container_image_digest=facet["containerImageDigest"],
        library_versions=facet["libraryVersions"],
        decision_log=facet["decisionLog"],
        config_hash=facet["configHash"],
        started_at=job.event_time,
    )


def _complete(job: TrainingJob) -> None:
    facet = _facet(job, TrainingCompleteFacet)
    run = _registered(job)
    if run is None:
        raise ValidationError(
            {
                "run.runId": ValidationError(
                    f"No training run {job.run_id} is registered: send the run's START (with its "
                    f"{TRAINING_FACET} facet) first.",
                    code=UNKNOWN_RECORD,
                )
            }
        )
    _check_use_case(job, run.use_case_id, run, "training_run_complete")
    training_run_complete(
        run=run,
        actor=job.actor,
        output_weights_digest=facet["outputWeightsDigest"],
        metrics=facet["metrics"],
        checkpoints=facet["checkpoints"],
        finished_at=job.event_time,
    )


def _fail(job: TrainingJob) -> None:
    """A run that was never registered (its START refused) has nothing to fail; the event is still recorded."""
    run = _registered(job)
    if run is None or run.status != TrainingRunStatus.RUNNING:
        return
    _check_use_case(job, run.use_case_id, run, "training_run_fail")
    message = job.job_facets.get("errorMessage", {}).get("message")
    reason = message or f"OpenLineage {job.event_type} event from {job.producer or 'an unnamed producer'}"
    training_run_fail(run=run, actor=job.actor, reason=f"{job.event_type}: {reason}")


HANDLERS = {
    OpenLineageEventType.START: _start,
    OpenLineageEventType.COMPLETE: _complete,
    OpenLineageEventType.FAIL: _fail,
    OpenLineageEventType.ABORT: _fail,
}


def training_run_record_openlineage(job: TrainingJob) -> None:
    """RUNNING and OTHER events add facets to the OpenLineage run only; the training run is unchanged."""
    handler = HANDLERS.get(job.event_type)
    if handler is not None:
        handler(job)
