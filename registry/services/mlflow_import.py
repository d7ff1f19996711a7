"""Importing MLflow's registered model versions, and the runs that produced them, into the registry.

Each MLflow version becomes a ``ModelVersion`` (its ``external_reference`` is MLflow's ``models:/NAME/VERSION``,
which is how a second import finds it and changes nothing) produced by a ``TrainingRun`` whose ``run_id`` is
MLflow's run id. They are registered through the registry's services, so the dataset approval check, the
permissions and the audit ledger apply exactly as they do to the API; each version is imported whole, in one
transaction, or not at all.

What a run must carry, besides its params, metrics and dataset inputs (all tags on the run):

- ``mlflow.source.git.commit`` and ``mlflow.source.git.repoURL`` (MLflow sets both when it runs from a git
  checkout; ``portal.code_repository``, when set, overrides the second);
- ``portal.base_model``: a registered base model as ``provider/name version``;
- ``portal.hardware``, ``portal.container_image_digest`` (``sha256:...``), ``portal.weights_digest`` (the
  SHA-256 of the output weights; on the run or on the model version);
- ``portal.decision_log``, or MLflow's run description: why this data, why these settings;
- optionally ``portal.library.<package>`` = version, one per library.

Params whose name ends in ``seed`` are the random seeds; the others are the hyperparameters; the configuration
(whose hash the portal keeps) holds the params, the remaining tags and where the run came from.

Datasets: a training input (context ``training``, or none) names its portal dataset version, ``slug@number``,
and carries the leading hex digits (at least 32; MLflow keeps at most 36 characters) of that version's SHA-256
content digest as its MLflow digest, so the portal can tell the data trained on is the data approved. An input
with no such name is matched by its digest alone. Inputs with other contexts (evaluation) are recorded in the
configuration but are not training data. An input the portal cannot match refuses the version; it is never
taken as approved.

A run the portal already holds (the pipeline registered it through the API) is linked to only if it is what
MLflow reports: the same use case, the same dataset versions and, once completed, the same weights digest.
Otherwise the version is refused, so a model version named ``models:/NAME/VERSION`` never claims data or weights
MLflow does not report. Likewise a version already imported under another use case is refused, not "unchanged".
"""

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from audit.audit_context import acting_as
from audit.ledger import ActionDenied, denials_recorded
from governance.models import UseCase
from lineage.models import DatasetVersion
from registry.choices import TrainingRunStatus
from registry.errors import GateBlocked
from registry.mlflow_tracking import DatasetInput, RunSnapshot, VersionSnapshot
from registry.models import BaseModel, ModelVersion, TrainingRun
from registry.services.training import model_version_register, training_run_complete, training_run_register

TAG = "portal."
TRAINING_CONTEXTS = frozenset({"", "training", "train"})
#: 128 bits of the content digest: as much as fits comfortably in MLflow's 36-character digest.
MIN_DIGEST_HEX = 32
_HEX = re.compile(r"^[0-9a-f]+$")
#: Bulky, and MLflow's bookkeeping rather than the run's configuration.
_LEFT_OUT = frozenset({"mlflow.log-model.history"})


class Outcome(StrEnum):
    IMPORTED = "imported"
    UNCHANGED = "unchanged"
    REFUSED = "refused"


@dataclass
class VersionResult:
    """What became of one MLflow version: one line of the command's report."""

    reference: str
    outcome: Outcome
    model_version: str = ""
    run_id: str = ""
    reasons: list[str] = field(default_factory=list)

    def line(self, *, dry_run: bool = False) -> str:
        word = f"would be {self.outcome}" if dry_run and self.outcome == Outcome.IMPORTED else str(self.outcome)
        if self.outcome == Outcome.REFUSED:
            return f"{word}: {self.reference}: " + " ".join(self.reasons)
        return f"{word}: {self.reference} -> {self.model_version} (run {self.run_id})"


def _training_inputs(run: RunSnapshot) -> list[DatasetInput]:
    return [item for item in run.inputs if item.context.strip().lower() in TRAINING_CONTEXTS]


def _matches(version: DatasetVersion, digest: str) -> bool:
    return len(digest) >= MIN_DIGEST_HEX and bool(_HEX.match(digest)) and version.content_digest.startswith(digest)


def resolve_datasets(run: RunSnapshot) -> tuple[list[DatasetVersion], list[str]]:
    """The dataset versions the run trained on, and every input that cannot be matched to one (by name and
    digest, or by digest alone) with the reason."""
    versions, problems = [], []
    inputs = _training_inputs(run)
    if not inputs:
        problems.append(f"Run {run.run_id} logged no training dataset input (mlflow.log_input, context 'training').")
    for item in inputs:
        digest = item.digest.strip().lower()
        label = f"Dataset input {item.name!r} (digest {item.digest!r})"
        named = DatasetVersion.objects.select_related("dataset").filter_identifier(item.name)
        if named is not None:
            version = named.first()
            if version is None:
                problems.append(f"{label} names {item.name}, which is not a dataset version in the portal.")
            elif not _matches(version, digest):
                problems.append(
                    f"{label} does not carry the content digest of {version} (its first {MIN_DIGEST_HEX} hex digits "
                    f"are {version.content_digest[:MIN_DIGEST_HEX]}): the data trained on is not shown to be the "
                    "data approved."
                )
            else:
                versions.append(version)
            continue
        if len(digest) < MIN_DIGEST_HEX or not _HEX.match(digest):
            problems.append(
                f"{label} matches no dataset version: name it slug@number and log the first {MIN_DIGEST_HEX} hex "
                "digits of its content digest as the MLflow digest."
            )
            continue
        candidates = list(DatasetVersion.objects.select_related("dataset").filter(content_digest__startswith=digest))
        if len(candidates) == 1:
            versions.append(candidates[0])
        elif not candidates:
            problems.append(f"{label} matches no dataset version in the portal.")
        else:
            names = ", ".join(sorted(str(candidate) for candidate in candidates))
            problems.append(f"{label} matches several dataset versions ({names}); name the one used as slug@number.")
    return versions, problems


def _base_model(value: str) -> BaseModel | None:
    provider, _slash, rest = value.strip().partition("/")
    name, _space, version = rest.strip().rpartition(" ")
    if not (provider and name and version):
        return None
    return BaseModel.objects.filter(provider=provider.strip(), name=name.strip(), version=version.strip()).first()


def run_fields(snapshot: VersionSnapshot) -> tuple[dict[str, Any], list[str]]:
    """The ``training_run_register`` arguments a run's params and tags give, and every one that is missing.
    Formats (commit, digests) are left to the service, which says what is wrong with them."""
    run = snapshot.run
    assert run is not None
    tags, problems = run.tags, []

    def required(key: str, *fallbacks: str) -> str:
        """The first of the tags that is set: ``key`` wins over its fallbacks."""
        for candidate in (key, *fallbacks):
            if tags.get(candidate, "").strip():
                return tags[candidate].strip()
        alternatives = "".join(f" (or {fallback})" for fallback in fallbacks)
        problems.append(f"Run {run.run_id} has no tag {key}{alternatives}.")
        return ""

    base_model_tag = required(f"{TAG}base_model")
    base_model = _base_model(base_model_tag) if base_model_tag else None
    if base_model_tag and base_model is None:
        problems.append(f"Base model {base_model_tag!r} is not registered (provider/name version).")
    seeds = {key: value for key, value in run.params.items() if key.lower().endswith("seed")}
    fields = {
        "run_id": run.run_id,
        "base_model": base_model,
        "code_commit": required("mlflow.source.git.commit"),
        "code_repository": required(f"{TAG}code_repository", "mlflow.source.git.repoURL"),
        "hardware": required(f"{TAG}hardware"),
        "container_image_digest": required(f"{TAG}container_image_digest"),
        "decision_log": required(f"{TAG}decision_log", "mlflow.note.content"),
        "hyperparameters": {key: value for key, value in run.params.items() if key not in seeds},
        "random_seeds": seeds,
        "library_versions": {
            key.removeprefix(f"{TAG}library."): value for key, value in tags.items() if key.startswith(f"{TAG}library.")
        },
        "config": {
            "params": run.params,
            "tags": {key: value for key, value in tags.items() if not key.startswith(TAG) and key not in _LEFT_OUT},
            "mlflow": {
                "run_id": run.run_id,
                "run_name": run.run_name,
                "experiment_id": run.experiment_id,
                "dataset_inputs": [
                    {"name": item.name, "digest": item.digest, "source_type": item.source_type, "context": item.context}
                    for item in run.inputs
                ],
            },
        },
        "started_at": run.started_at,
    }
    if not seeds:
        problems.append(f"Run {run.run_id} logs no random seed (a param whose name ends in 'seed').")
    if not fields["hyperparameters"]:
        problems.append(f"Run {run.run_id} logs no hyperparameters (params).")
    if not fields["library_versions"]:
        problems.append(f"Run {run.run_id} has no {TAG}library.<package> tag naming a library version.")
    weights = snapshot.tags.get(f"{TAG}weights_digest", "").strip() or required(f"{TAG}weights_digest")
    return {
        "fields": fields,
        "weights_digest": weights,
        "metrics": run.metrics,
        "finished_at": run.finished_at,
    }, problems


def _error_messages(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [f"{name}: {message}" for name, messages in error.message_dict.items() for message in messages]
    return list(error.messages)


def _preflight(snapshot: VersionSnapshot) -> list[str]:
    """Everything wrong with the MLflow side, found before the database is touched."""
    problems = []
    if snapshot.status != "READY":
        problems.append(f"MLflow reports the version as {snapshot.status or 'unknown'}, not READY.")
    run = snapshot.run
    if run is None:
        problems.append(
            f"The run {snapshot.run_id} that produced it is not on the tracking server."
            if snapshot.run_id
            else "It names no run, and the portal registers a model version only from its training run."
        )
        return problems
    if run.status != "FINISHED":
        problems.append(f"Its run {run.run_id} is {run.status.lower()}, not finished.")
    return problems


def _check_existing_run(existing: TrainingRun, *, mapped: dict[str, Any], use_case: UseCase, versions: list) -> None:
    """Refuses to link MLflow's version to a run the portal holds unless that run is the one MLflow reports:
    otherwise the imported model version would claim data or weights that MLflow does not."""
    run_id = existing.run_id
    if existing.use_case_id != use_case.pk:
        raise ValidationError({"run_id": f"Run {run_id} is registered under another use case ({existing.use_case})."})
    held = set(existing.dataset_links.values_list("dataset_version_id", flat=True))
    reported = {version.pk for version in versions}
    if held != reported:
        names = ", ".join(sorted(str(version) for version in versions))
        held_names = ", ".join(
            sorted(str(version) for version in DatasetVersion.objects.select_related("dataset").filter(pk__in=held))
        )
        raise ValidationError(
            {
                "dataset_versions": f"Run {run_id} is registered in the portal as trained on {held_names or 'nothing'}"
                f"; MLflow reports {names}: the two registries disagree."
            }
        )
    weights = mapped["weights_digest"].strip().lower()
    if existing.status == TrainingRunStatus.COMPLETED and existing.output_weights_digest != weights:
        raise ValidationError(
            {
                "output_weights_digest": f"Run {run_id} completed in the portal with weights digest "
                f"{existing.output_weights_digest}; MLflow reports {weights}: the two registries disagree."
            }
        )


def _registered_run(
    *, snapshot: VersionSnapshot, mapped: dict[str, Any], use_case: UseCase, versions: list, actor: AbstractBaseUser
) -> TrainingRun:
    """The run from an earlier registration (the pipeline's own, through the API), if it is the one MLflow
    reports, or a new one; completed."""
    run_id = mapped["fields"]["run_id"]
    existing = TrainingRun.objects.select_for_update().filter(run_id=run_id).first()
    if existing is not None:
        _check_existing_run(existing, mapped=mapped, use_case=use_case, versions=versions)
    if existing is not None and existing.status == TrainingRunStatus.COMPLETED:
        produced = ModelVersion.objects.filter(training_run=existing).first()
        if produced is not None:
            raise ValidationError({"run_id": f"Run {run_id} already produced {produced} (not {snapshot.reference})."})
        return existing
    run = existing or training_run_register(
        actor=actor, use_case=use_case, dataset_versions=versions, **mapped["fields"]
    )
    return training_run_complete(
        run=run,
        actor=actor,
        output_weights_digest=mapped["weights_digest"],
        metrics=mapped["metrics"],
        finished_at=mapped["finished_at"],
    )


def model_version_import(
    *, snapshot: VersionSnapshot, use_case: UseCase, name: str, actor: AbstractBaseUser
) -> VersionResult:
    """Bring one MLflow version and its run into the registry, whole or not at all.

    Already imported (same reference, same run, same use case): unchanged, nothing is written. Refused, with
    every reason: an MLflow version that is not ready or has no finished run, a dataset input the portal cannot
    match, a missing tag, data not approved for training (the services' own refusal, which the ledger records),
    or a conflict with what the registry already holds (a run of the same id with other data or weights).
    """
    result = VersionResult(reference=snapshot.reference, outcome=Outcome.REFUSED, run_id=snapshot.run_id)
    existing = ModelVersion.objects.filter(external_reference=snapshot.reference).first()
    if existing is not None:  # whatever MLflow says of it now: the registry's record stands
        return _already_imported(result, existing, snapshot, name, use_case)
    problems = _preflight(snapshot)
    mapped, versions = {}, []
    if snapshot.run is not None:
        versions, dataset_problems = resolve_datasets(snapshot.run)
        mapped, field_problems = run_fields(snapshot)
        problems += dataset_problems + field_problems
    if problems:
        result.reasons = problems
        return result
    try:
        with denials_recorded(), transaction.atomic(), acting_as(actor):
            UseCase.objects.select_for_update().get(pk=use_case.pk)  # one import of a use case at a time
            existing = ModelVersion.objects.filter(external_reference=snapshot.reference).first()
            if existing is not None:
                return _already_imported(result, existing, snapshot, name, use_case)
            run = _registered_run(snapshot=snapshot, mapped=mapped, use_case=use_case, versions=versions, actor=actor)
            version = model_version_register(
                run=run,
                actor=actor,
                name=name,
                description=snapshot.description,
                external_reference=snapshot.reference,
            )
    except GateBlocked as refusal:
        result.reasons = refusal.reasons
        return result
    except ActionDenied as refusal:
        result.reasons = [refusal.reason]
        return result
    except ValidationError as error:
        result.reasons = _error_messages(error)
        return result
    result.outcome, result.model_version = Outcome.IMPORTED, version.identifier
    return result


def _already_imported(
    result: VersionResult, existing: ModelVersion, snapshot: VersionSnapshot, name: str, use_case: UseCase
) -> VersionResult:
    run_id, held_use_case = (
        TrainingRun.objects.filter(pk=existing.training_run_id).values_list("run_id", "use_case__slug").get()
    )
    if held_use_case != use_case.slug:
        result.reasons = [
            f"{existing} was imported from {snapshot.reference} under the use case {held_use_case}; the import "
            f"asks for {use_case.slug}: a model version belongs to one use case."
        ]
        return result
    if run_id != snapshot.run_id or existing.name != name:
        result.reasons = [
            f"{existing} was imported from {snapshot.reference} with run {run_id}; MLflow now names run "
            f"{snapshot.run_id} and the import asks for {name}: the two registries disagree."
        ]
        return result
    result.outcome, result.model_version = Outcome.UNCHANGED, existing.identifier
    return result


def model_version_import_batch(
    *, snapshots: list[VersionSnapshot], use_case: UseCase, name: str, actor: AbstractBaseUser, dry_run: bool = False
) -> list[VersionResult]:
    """Every version in turn, each in its own transaction. A dry run goes through exactly the same checks and
    services inside one transaction that is then rolled back, so it writes nothing, not even refusals."""
    if not dry_run:
        return [model_version_import(snapshot=s, use_case=use_case, name=name, actor=actor) for s in snapshots]
    with transaction.atomic():
        results = [model_version_import(snapshot=s, use_case=use_case, name=name, actor=actor) for s in snapshots]
        transaction.set_rollback(True)
    return results
