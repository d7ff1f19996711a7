"""Completeness of a model version's provenance, named and scored: every fact a regulator expects of the version, its
training run and every dataset version it was built from, present or missing, with who should fill it.

The lineage side (sources, steps) is ``lineage.completeness``; this module adds the run's facts (commit, configuration
hash, seeds, container digest, library versions, hardware, decision log) and the version's (every threshold dimension
tested by a frozen suite, every model card section written), and holds the fact catalogue the organisation's
required-facts setting names keys of. Everything is read in a fixed number of queries however many datasets or
validation results there are, so promotion, gate checks and evidence packs can ask it every time.

Other checks add facts through ``register_fact_check`` (the catalogue entries and a function of the versions), so
the catalogue stays the one list of what can be required.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

from django.db.models import Q
from django.urls import reverse

from accounts.choices import Role
from governance.choices import EvaluationDimension, RevisionState
from governance.models import ThresholdPolicy
from lineage.completeness import LINEAGE_FACTS, Completeness, Fact, FactKind, dataset_version_facts, owner_of
from registry.models import (
    ModelCard,
    ModelVersion,
    TrainingRun,
    TrainingRunDataset,
    ValidationResult,
    ValidationRun,
)

_RUN = "training run"
RUN_FIELDS: tuple[tuple[FactKind, str], ...] = (
    (FactKind("run.code_commit", "code commit", _RUN, Role.ML_ENGINEER), "code_commit"),
    (FactKind("run.config_hash", "configuration hash", _RUN, Role.ML_ENGINEER), "config_hash"),
    (FactKind("run.random_seeds", "random seeds", _RUN, Role.ML_ENGINEER), "random_seeds"),
    (
        FactKind("run.container_image_digest", "container image digest", _RUN, Role.ML_ENGINEER),
        "container_image_digest",
    ),
    (FactKind("run.library_versions", "library versions", _RUN, Role.ML_ENGINEER), "library_versions"),
    (FactKind("run.hardware", "hardware", _RUN, Role.ML_ENGINEER), "hardware"),
    (FactKind("run.decision_log", "decision log", _RUN, Role.ML_ENGINEER), "decision_log"),
)
DIMENSION_TESTED = FactKind(
    "model_version.dimension_tested", "threshold dimension tested by a frozen suite", "model version", Role.ML_ENGINEER
)
CARD_SECTION = FactKind("model_version.card_section", "model card section written", "model version", Role.PRODUCT_OWNER)

#: A check another part of the registry adds (e.g. languages of the training data the validation suite lacks): the
#: catalogue entries it may produce and a function from model versions to their facts (version id -> facts), which
#: must read a fixed number of queries however many versions it is given.
FactCheck = Callable[[Sequence[ModelVersion]], dict[int, list[Fact]]]
_extra_fact_kinds: list[FactKind] = []
_extra_fact_checks: list[FactCheck] = []


def register_fact_check(kinds: Iterable[FactKind], check: FactCheck) -> None:
    """Add facts to every completeness check (call once, from an ``AppConfig.ready``)."""
    kinds = tuple(kinds)
    taken = {kind.key for kind in fact_catalogue()}
    if check in _extra_fact_checks:
        return
    clash = [kind.key for kind in kinds if kind.key in taken]
    if clash:
        raise ValueError(f"Fact keys already in the catalogue: {', '.join(clash)}.")
    _extra_fact_kinds.extend(kinds)
    _extra_fact_checks.append(check)


def fact_catalogue() -> tuple[FactKind, ...]:
    """Every kind of fact, lineage side first, in the order checklists show them; keys are unique and stable."""
    return (
        *LINEAGE_FACTS,
        *(kind for kind, _field in RUN_FIELDS),
        DIMENSION_TESTED,
        CARD_SECTION,
        *_extra_fact_kinds,
    )


def fact_keys() -> frozenset[str]:
    return frozenset(kind.key for kind in fact_catalogue())


def _filled(value: object) -> bool:
    return bool(value.strip()) if isinstance(value, str) else bool(value)


def training_run_own_facts(run: TrainingRun) -> list[Fact]:
    """The run's own facts (no query when ``registered_by`` is loaded with it)."""
    url = reverse("admin:registry_trainingrun_change", args=[run.pk])
    owner, owner_id = owner_of(run.registered_by)
    return [
        Fact(kind, f"run {run.run_id}", _filled(getattr(run, name)), owner, owner_id, url) for kind, name in RUN_FIELDS
    ]


def _data_facts(run_ids: Iterable[int]) -> dict[int, list[Fact]]:
    """Run id -> the facts of every dataset version it trained on (four queries)."""
    by_run: dict[int, list[int]] = defaultdict(list)
    for run_id, version_id in (
        TrainingRunDataset.objects.filter(run_id__in=list(run_ids))
        .order_by("run_id", "dataset_version_id")
        .values_list("run_id", "dataset_version_id")
    ):
        by_run[run_id].append(version_id)
    facts = dataset_version_facts(version_id for versions in by_run.values() for version_id in versions)
    return {
        run_id: [fact for version_id in versions for fact in facts.get(version_id, [])]
        for run_id, versions in by_run.items()
    }


def _threshold_dimensions(use_case_ids: set[int]) -> dict[int | None, list[str]]:
    """Use case id (None: the organisation default) -> the dimensions its thresholds in effect set (two queries)."""
    policies = ThresholdPolicy.objects.filter(
        Q(use_case_id__in=use_case_ids) | Q(use_case__isnull=True), state=RevisionState.EFFECTIVE
    ).prefetch_related("rules")
    return {policy.use_case_id: sorted(rule.dimension for rule in policy.rules.all()) for policy in policies}


def _tested_dimensions(version_ids: list[int]) -> dict[int, set[str]]:
    """Version id -> the dimensions its latest validation run (on a frozen suite) has results for (two queries,
    whatever the number of results: the database answers with the distinct dimensions)."""
    latest: dict[int, int] = {}
    for run_id, version_id in (
        ValidationRun.objects.filter(model_version_id__in=version_ids, suite__frozen_at__isnull=False)
        .order_by("-started_at", "-pk")
        .values_list("pk", "model_version_id")
    ):
        latest.setdefault(version_id, run_id)
    tested: dict[int, set[str]] = defaultdict(set)
    run_version = {run_id: version_id for version_id, run_id in latest.items()}
    for run_id, dimension in (
        ValidationResult.objects.filter(run_id__in=list(run_version))
        .values_list("run_id", "case__dimension")
        .distinct()
        .order_by()
    ):
        tested[run_version[run_id]].add(dimension)
    return tested


def _latest_cards(version_ids: list[int]) -> dict[int, ModelCard]:
    cards: dict[int, ModelCard] = {}
    for card in ModelCard.objects.filter(model_version_id__in=version_ids).order_by("model_version_id", "-revision"):
        cards.setdefault(card.model_version_id, card)
    return cards


def _version_facts(versions: Sequence[ModelVersion]) -> dict[int, list[Fact]]:
    """Version id -> the version's own facts: dimensions tested and card sections (five queries)."""
    if not versions:
        return {}
    ids = [version.pk for version in versions]
    thresholds = _threshold_dimensions({version.use_case_id for version in versions})
    tested = _tested_dimensions(ids)
    cards = _latest_cards(ids)
    facts: dict[int, list[Fact]] = {}
    for version in versions:
        url = reverse("admin:registry_modelversion_change", args=[version.pk])
        engineer, engineer_id = owner_of(version.registered_by)
        product, product_id = owner_of(version.use_case.owner)
        dimensions = thresholds.get(version.use_case_id, thresholds.get(None, []))
        found = [
            Fact(
                DIMENSION_TESTED,
                f"{version} / {EvaluationDimension(dimension).label}",
                dimension in tested[version.pk],
                engineer,
                engineer_id,
                url,
            )
            for dimension in dimensions
        ]
        card = cards.get(version.pk)
        for name in ModelCard.WRITTEN_SECTIONS:
            label = ModelCard._meta.get_field(name).verbose_name
            written = card is not None and bool(getattr(card, name).strip())
            found.append(Fact(CARD_SECTION, f"{version} / model card: {label}", written, product, product_id, url))
        facts[version.pk] = found
    return facts


def model_versions_own_facts(versions: Iterable[ModelVersion]) -> dict[int, list[Fact]]:
    """Version id -> the version's own facts only (not its run's or data's), for any number of versions."""
    return _version_facts(_loaded(versions))


def _loaded(versions: Iterable[ModelVersion]) -> list[ModelVersion]:
    return list(
        ModelVersion.objects.filter(pk__in=[version.pk for version in versions])
        .select_related("training_run__registered_by", "registered_by", "use_case__owner")
        .order_by("name", "number")
    )


def model_versions_completeness(versions: Iterable[ModelVersion]) -> dict[int, Completeness]:
    """Version id -> the completeness of the version, its training run and everything it was trained on, for any
    number of versions in a fixed number of queries (plus those of the registered extra checks)."""
    loaded = _loaded(versions)
    data = _data_facts(version.training_run_id for version in loaded)
    own = _version_facts(loaded)
    extra: dict[int, list[Fact]] = defaultdict(list)
    for check in _extra_fact_checks:
        for version_id, facts in check(loaded).items():
            extra[version_id].extend(facts)
    return {
        version.pk: Completeness(
            record=str(version),
            facts=(
                *data.get(version.training_run_id, []),
                *training_run_own_facts(version.training_run),
                *own[version.pk],
                *extra[version.pk],
            ),
        )
        for version in loaded
    }


def model_version_completeness(version: ModelVersion) -> Completeness:
    """The completeness of one version and everything it was built from."""
    return model_versions_completeness([version])[version.pk]


def training_run_completeness(run: TrainingRun) -> Completeness:
    """The completeness of a run and the dataset versions it trained on."""
    run = TrainingRun.objects.select_related("registered_by").get(pk=run.pk)
    return Completeness(record=str(run), facts=(*_data_facts([run.pk]).get(run.pk, []), *training_run_own_facts(run)))


def training_runs_gaps(runs: Iterable[TrainingRun]) -> dict[int, list[Fact]]:
    """Run id -> its own missing facts (the runs loaded with ``registered_by``); no query."""
    return {run.pk: [fact for fact in training_run_own_facts(run) if not fact.present] for run in runs}
