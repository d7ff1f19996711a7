"""Training runs and model versions: registered only from data that is approved for training."""

import datetime
import hashlib
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.authz import require
from audit import ledger
from audit.audit_context import acting_as
from audit.canonical import canonical_bytes
from audit.choices import LedgerAction
from audit.ledger import ActionDenied, denials_recorded
from governance.inputs import bounded_json
from governance.models import RetrainingCadence, UseCase
from governance.services.retraining import retraining_completed
from lineage.models import DatasetVersion
from lineage.selectors import approved_for_training
from registry.choices import TrainingRunStatus
from registry.errors import GateBlocked
from registry.models import BaseModel, ModelVersion, TrainingRun, TrainingRunDataset

#: Configurations may be larger than other documents (full trainer configs), but still bounded.
MAX_CONFIG_BYTES = 64 * 1024


def config_hash_of(config: dict[str, Any]) -> str:
    """SHA-256 of the configuration's canonical JSON (RFC 8785): the same configuration always hashes the same,
    whatever the key order or whitespace it was sent with."""
    return hashlib.sha256(canonical_bytes(config)).hexdigest()


def base_model_register(
    *,
    actor: AbstractBaseUser,
    provider: str,
    name: str,
    version: str,
    licence: str,
    source_uri: str = "",
    weights_digest: str = "",
) -> BaseModel:
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        require(actor, "registry.add_basemodel", attempted="base_model_register")
        base = BaseModel(
            provider=provider.strip(),
            name=name.strip(),
            version=version.strip(),
            licence=licence.strip(),
            source_uri=source_uri.strip(),
            weights_digest=weights_digest.strip().lower(),
        )
        base.full_clean()
        base.save()
        return base


def training_data_problems(versions: Iterable[DatasetVersion]) -> list[str]:
    """Why each dataset version may not be trained on (empty: all approved with valid signatures)."""
    problems = []
    for version in versions:
        _approved, reasons = approved_for_training(version)
        problems.extend(reasons)
    return problems


def model_data_problems(model_version: ModelVersion) -> list[str]:
    """Why the data a model version was trained on may no longer be used (empty: all still approved)."""
    return training_data_problems(model_version.training_run.dataset_versions.select_related("dataset").order_by("pk"))


def _locked_versions(dataset_version_ids: Iterable[int]) -> list[DatasetVersion]:
    """The versions, locked so that a revocation cannot slip in between the check and the registration."""
    ids = sorted({int(pk) for pk in dataset_version_ids})
    versions = list(DatasetVersion.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    missing = sorted(set(ids) - {version.pk for version in versions})
    if missing:
        raise ValidationError({"dataset_versions": f"Unknown dataset versions: {', '.join(map(str, missing))}."})
    return list(DatasetVersion.objects.select_related("dataset").filter(pk__in=ids).order_by("pk"))


def training_run_register(
    *,
    actor: AbstractBaseUser,
    run_id: str,
    use_case: UseCase,
    base_model: BaseModel,
    dataset_versions: Iterable[DatasetVersion],
    code_repository: str,
    code_commit: str,
    config: dict[str, Any],
    hyperparameters: dict[str, Any],
    random_seeds: dict[str, Any],
    hardware: str,
    container_image_digest: str,
    library_versions: dict[str, Any],
    decision_log: str,
    config_hash: str = "",
    started_at: datetime.datetime | None = None,
) -> TrainingRun:
    """Register a training run. Refused, with every offending dataset version named, unless all of its data is
    approved for training with valid signatures; a declared ``config_hash`` must match the configuration."""
    attempted = "training_run_register"
    config = bounded_json(config, field="config", label="The configuration", max_bytes=MAX_CONFIG_BYTES)
    hyperparameters = bounded_json(hyperparameters, field="hyperparameters", label="Hyperparameters")
    random_seeds = bounded_json(random_seeds, field="random_seeds", label="Random seeds")
    library_versions = bounded_json(library_versions, field="library_versions", label="Library versions")
    computed_hash = config_hash_of(config)
    if config_hash and config_hash.strip().lower() != computed_hash:
        raise ValidationError(
            {"config_hash": f"The configuration hashes to {computed_hash}, not to the declared {config_hash}."}
        )
    if not decision_log.strip():
        raise ValidationError({"decision_log": "Say why this data and these settings were chosen."})
    version_ids = [version.pk for version in dataset_versions]
    if not version_ids:
        raise ValidationError({"dataset_versions": "Name the dataset versions the run trains on."})
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        require(actor, "registry.add_trainingrun", attempted=attempted, obj=use_case)
        versions = _locked_versions(version_ids)
        problems = training_data_problems(versions)
        if problems:
            raise GateBlocked(
                ["Training on data that is not approved for training is refused:", *problems],
                actor=actor,
                attempted=attempted,
                obj=use_case,
            )
        run = TrainingRun(
            run_id=run_id.strip(),
            use_case=use_case,
            base_model=base_model,
            code_repository=code_repository.strip(),
            code_commit=code_commit.strip().lower(),
            config=config,
            config_hash=computed_hash,
            hyperparameters=hyperparameters,
            random_seeds=random_seeds,
            hardware=hardware.strip(),
            container_image_digest=container_image_digest.strip().lower(),
            library_versions=library_versions,
            decision_log=decision_log.strip(),
            started_at=started_at or timezone.now(),
            registered_by=actor,
        )
        run.full_clean()
        run.save()
        TrainingRunDataset.objects.bulk_create(
            TrainingRunDataset(run=run, dataset_version=version, content_digest=version.content_digest)
            for version in versions
        )
        ledger.append(
            action=LedgerAction.UPDATE,
            obj=run,
            payload={
                "trained_on": [
                    {"dataset_version": version.identifier, "content_digest": version.content_digest}
                    for version in versions
                ]
            },
        )
        return run


def _locked_running(run: TrainingRun, actor: AbstractBaseUser, attempted: str) -> TrainingRun:
    locked = TrainingRun.objects.select_for_update().get(pk=run.pk)
    require(actor, "registry.change_trainingrun", attempted=attempted, obj=locked)
    if locked.status != TrainingRunStatus.RUNNING:
        raise ActionDenied(
            f"{locked} is {locked.get_status_display().lower()}; a finished run cannot change.",
            actor=actor,
            attempted=attempted,
            obj=locked,
        )
    return locked


def training_run_complete(
    *,
    run: TrainingRun,
    actor: AbstractBaseUser,
    output_weights_digest: str,
    metrics: dict[str, Any],
    checkpoints: list[Any] | None = None,
    finished_at: datetime.datetime | None = None,
) -> TrainingRun:
    """The run finished with output weights; a model version may now be registered from it."""
    metrics = bounded_json(metrics, field="metrics", label="Metrics")
    checkpoints = bounded_json(checkpoints or [], field="checkpoints", label="Checkpoints", kind=list)
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = _locked_running(run, actor, "training_run_complete")
        locked.output_weights_digest = output_weights_digest.strip().lower()
        if not locked.output_weights_digest:
            raise ValidationError({"output_weights_digest": "A completed run needs its output weights digest."})
        locked.metrics, locked.checkpoints = metrics, checkpoints
        locked.finished_at = finished_at or timezone.now()
        locked.full_clean()
        locked.complete()
        locked.save()
        return locked


def training_run_fail(*, run: TrainingRun, actor: AbstractBaseUser, reason: str) -> TrainingRun:
    if not reason.strip():
        raise ValidationError({"reason": "Say why the run failed."})
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = _locked_running(run, actor, "training_run_fail")
        locked.finished_at = timezone.now()
        locked.fail()
        locked._change_reason = reason.strip()[:100]
        locked.save()
        return locked


def model_version_register(
    *, run: TrainingRun, actor: AbstractBaseUser, name: str, description: str = "", external_reference: str = ""
) -> ModelVersion:
    """The model a completed run produced, as the next version of ``name`` (``support-assistant:8``).

    The run's data is checked again: a version revoked since the run was registered blocks the model too.
    ``external_reference`` names the version in the registry it is imported from (``models:/NAME/VERSION``).
    """
    attempted = "model_version_register"
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = TrainingRun.objects.select_for_update(of=("self",)).select_related("use_case").get(pk=run.pk)
        require(actor, "registry.add_modelversion", attempted=attempted, obj=locked)
        use_case = UseCase.objects.select_for_update().get(pk=locked.use_case_id)  # serialises numbering
        if locked.status != TrainingRunStatus.COMPLETED:
            raise ActionDenied(
                f"{locked} is {locked.get_status_display().lower()}; only a completed run produces a model version.",
                actor=actor,
                attempted=attempted,
                obj=locked,
            )
        if hasattr(locked, "model_version"):
            raise ActionDenied(
                f"{locked} already produced {locked.model_version}.", actor=actor, attempted=attempted, obj=locked
            )
        other_use_case = ModelVersion.objects.filter(name=name).exclude(use_case=use_case).first()
        if other_use_case is not None:
            raise ValidationError({"name": f"{name} is the model of another use case ({other_use_case.use_case})."})
        problems = training_data_problems(
            _locked_versions(locked.dataset_links.values_list("dataset_version", flat=True))
        )
        if problems:
            raise GateBlocked(
                ["The run's data is no longer approved for training:", *problems],
                actor=actor,
                attempted=attempted,
                obj=locked,
            )
        number = (ModelVersion.objects.filter(name=name).aggregate(Max("number"))["number__max"] or 0) + 1
        version = ModelVersion(
            name=name.strip(),
            number=number,
            use_case=use_case,
            training_run=locked,
            weights_digest=locked.output_weights_digest,
            description=description.strip(),
            external_reference=external_reference.strip(),
            registered_by=actor,
        )
        version.full_clean()
        version.save()
        if RetrainingCadence.objects.filter(use_case=use_case).exists():
            retraining_completed(
                use_case=use_case, retrained_at=locked.finished_at or timezone.now(), actor_name=actor.get_username()
            )
        return version
