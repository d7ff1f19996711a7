"""Two model versions (or two training runs) side by side: what an auditor asks when one replaced the other.

What data was added, removed or changed (with digests and what changed in its lineage), the configuration key by key
on its canonical JSON, hyperparameters, seeds, the base model, the environment and library versions, each gate
dimension's pass rate with its delta and thresholds, and the model card's sections. Read in a fixed number of queries
whatever the number of datasets or validation results: the gate's figures are the decision's own, not recounted.
"""

from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from audit.canonical import json_differences, to_jsonable
from lineage.comparison import data_facts
from registry.choices import Environment
from registry.models import DeploymentEvent, ModelCard, ModelVersion, TrainingRun, TrainingRunDataset
from registry.selectors import latest_gate_decisions


@dataclass(frozen=True)
class Change:
    """One thing that differs: its name (a dotted path for nested settings), and its value before and after."""

    what: str
    before: Any
    after: Any


@dataclass(frozen=True)
class DataChange:
    """One dataset's part in the two runs: added, removed, changed (another version) or the same version."""

    dataset: str
    change: str
    before: str
    after: str
    facts: tuple[Change, ...] = ()


@dataclass(frozen=True)
class GateFigure:
    """One evaluation dimension in the two versions' latest gate decisions: pass rates (%), their delta, thresholds."""

    dimension: str
    before: str | None
    after: str | None
    delta: str | None
    threshold_before: str | None
    threshold_after: str | None

    @property
    def regressed(self) -> bool:
        return self.delta is not None and Decimal(self.delta) < 0


@dataclass(frozen=True)
class Comparison:
    before: str
    after: str
    data: tuple[DataChange, ...]
    configuration: tuple[Change, ...]
    hyperparameters: tuple[Change, ...]
    seeds: tuple[Change, ...]
    base_model: tuple[Change, ...]
    environment: tuple[Change, ...]
    libraries: tuple[Change, ...]
    gate: tuple[GateFigure, ...] = ()
    card: tuple[Change, ...] = ()

    @property
    def data_changes(self) -> tuple[DataChange, ...]:
        return tuple(item for item in self.data if item.change != "same")

    def as_json(self) -> dict[str, Any]:
        return to_jsonable(asdict(self))


def _changes(before: Any, after: Any) -> tuple[Change, ...]:
    return tuple(Change(path, b, a) for path, b, a in json_differences(to_jsonable(before), to_jsonable(after)))


def _fields(before: object, after: object, names: dict[str, str]) -> tuple[Change, ...]:
    return tuple(
        Change(label, getattr(before, name), getattr(after, name))
        for name, label in names.items()
        if getattr(before, name) != getattr(after, name)
    )


def _data(before: TrainingRun, after: TrainingRun) -> tuple[DataChange, ...]:
    links = TrainingRunDataset.objects.filter(run__in=[before, after]).select_related("dataset_version__dataset")
    sides: dict[int, dict[str, Any]] = {before.pk: {}, after.pk: {}}
    for link in links:
        sides[link.run_id][link.dataset_version.dataset.slug] = link
    old, new = sides[before.pk], sides[after.pk]
    changed = [slug for slug in old.keys() & new.keys() if old[slug].dataset_version_id != new[slug].dataset_version_id]
    facts = data_facts(
        [old[slug].dataset_version_id for slug in changed] + [new[slug].dataset_version_id for slug in changed]
    )

    def label(link: TrainingRunDataset | None) -> str:
        return f"{link.dataset_version.identifier} ({link.content_digest})" if link else ""

    result = []
    for slug in sorted(old.keys() | new.keys()):
        was, now = old.get(slug), new.get(slug)
        if was is None or now is None:
            result.append(DataChange(slug, "added" if was is None else "removed", label(was), label(now)))
        elif slug in changed:
            before_facts, after_facts = facts[was.dataset_version_id], facts[now.dataset_version_id]
            result.append(DataChange(slug, "changed", label(was), label(now), _changes(before_facts, after_facts)))
        else:
            result.append(DataChange(slug, "same", label(was), label(now)))
    return tuple(result)


def _base_model(before: TrainingRun, after: TrainingRun) -> tuple[Change, ...]:
    changes = []
    if before.base_model_id != after.base_model_id:
        changes.append(Change("base model", str(before.base_model), str(after.base_model)))
        changes.extend(_fields(before.base_model, after.base_model, {"weights_digest": "base model weights digest"}))
    return tuple(changes)


def compare_training_runs(before: TrainingRun, after: TrainingRun) -> Comparison:
    before, after = (
        TrainingRun.objects.select_related("base_model").get(pk=run.pk)
        for run in (before, after)  # two queries
    )
    return Comparison(
        before=before.run_id,
        after=after.run_id,
        data=_data(before, after),
        configuration=_changes(before.config, after.config),
        hyperparameters=_changes(before.hyperparameters, after.hyperparameters),
        seeds=_changes(before.random_seeds, after.random_seeds),
        base_model=_base_model(before, after),
        environment=_fields(
            before,
            after,
            {
                "code_repository": "code repository",
                "code_commit": "code commit",
                "config_hash": "configuration hash",
                "container_image_digest": "container image digest",
                "hardware": "hardware",
                "output_weights_digest": "output weights digest",
            },
        ),
        libraries=_changes(before.library_versions, after.library_versions),
    )


def _rate(figure: dict[str, Any] | None, key: str) -> str | None:
    return None if figure is None else figure.get(key)


def _delta(before: str | None, after: str | None) -> str | None:
    try:
        return f"{Decimal(after) - Decimal(before):+.2f}" if before is not None and after is not None else None
    except InvalidOperation:
        return None


def _gate(before: ModelVersion, after: ModelVersion) -> tuple[GateFigure, ...]:
    latest = latest_gate_decisions([before, after])
    old = latest[before.pk].figures if before.pk in latest else {}
    new = latest[after.pk].figures if after.pk in latest else {}
    figures = []
    for dimension in sorted(old.keys() | new.keys()):
        was, now = old.get(dimension), new.get(dimension)
        label = (now or was)["label"]
        rate_before, rate_after = _rate(was, "pass_rate"), _rate(now, "pass_rate")
        figures.append(
            GateFigure(
                dimension=label,
                before=rate_before,
                after=rate_after,
                delta=_delta(rate_before, rate_after),
                threshold_before=_rate(was, "min_pass_rate"),
                threshold_after=_rate(now, "min_pass_rate"),
            )
        )
    return tuple(figures)


def _card(before: ModelVersion, after: ModelVersion) -> tuple[Change, ...]:
    latest: dict[int, dict[str, Any]] = {}
    for card in ModelCard.objects.filter(model_version__in=[before, after]).order_by("model_version", "-revision"):
        latest.setdefault(
            card.model_version_id,
            {**card.generated, **{name: getattr(card, name) for name in ModelCard.WRITTEN_SECTIONS}},
        )
    return _changes(latest.get(before.pk, {}), latest.get(after.pk, {}))


def compare_model_versions(before: ModelVersion, after: ModelVersion) -> Comparison:
    runs = compare_training_runs(before.training_run, after.training_run)
    return Comparison(
        **{
            **runs.__dict__,
            "before": before.identifier,
            "after": after.identifier,
            "gate": _gate(before, after),
            "card": _card(before, after),
        }
    )


def replaced_in_production(model_version: ModelVersion) -> ModelVersion | None:
    """The version this one replaced when it was last deployed to production, if it ever was and replaced one."""
    event = (
        DeploymentEvent.objects.filter(
            model_version=model_version, deployment__environment=Environment.PROD, replaced_version__isnull=False
        )
        .select_related("replaced_version__training_run")
        .order_by("-happened_at", "-pk")
        .first()
    )
    return event.replaced_version if event else None


def predecessor(model_version: ModelVersion) -> ModelVersion | None:
    """What a version is judged against: the one it replaced in production, else the previous version of its model."""
    return (
        replaced_in_production(model_version)
        or ModelVersion.objects.filter(name=model_version.name, number__lt=model_version.number)
        .select_related("training_run")
        .order_by("-number")
        .first()
    )
