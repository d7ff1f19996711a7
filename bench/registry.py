"""Registry figures on the demo organisation.

``gate_eval_ms``: evaluating the gate of a validation run with 10,000 results (median; target under 200 ms).
``impact_analysis_ms``: impact analysis from a source system across the demo graph scaled x100: the support
assistant's data, runs, model versions and deployments copied 99 times, all fed by the same source.
"""

from collections.abc import Iterator

from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.utils import timezone

from accounts.demo import DEFAULT_DEMO_PASSWORD
from bench.timing import median_ms
from governance.models import UseCase
from lineage.models import Dataset, DatasetVersion, LineageEdge, LineageRecord, LineageSource, SourceSystem
from registry.models import Deployment, ModelVersion, TrainingRun, TrainingRunDataset, ValidationSuite
from registry.selectors import impact_of_source
from registry.services.gates import gate_evaluate
from registry.services.validation import ResultInput, validation_run_record

RESULTS = 10_000
COPIES = 99
WARMUP = 2
RUNS = 15


def seed_demo() -> None:
    from importlib import import_module

    from accounts.demo import seed_demo_logins
    from governance.catalogue import load_controls

    load_controls()
    seed_demo_logins(password=DEFAULT_DEMO_PASSWORD)
    for app in ("governance", "lineage", "registry"):
        import_module(f"{app}.demo_organisation").seed(password=DEFAULT_DEMO_PASSWORD)


def gate_eval_ms() -> float:
    engineer = get_user_model().objects.get(username="mleng")
    model = ModelVersion.objects.get(name="support-assistant", number=3)
    suite = ValidationSuite.objects.get(slug="billing-assistant", version=1)
    keys = list(suite.cases.values_list("key", "category"))
    per_case = RESULTS // len(keys)
    results = [
        ResultInput(
            case=key,
            attempt=attempt,
            outcome="fail" if attempt % 37 == 0 else "pass",
            human_reviewer="risk2" if category == "human_review" else "",
        )
        for key, category in keys
        for attempt in range(1, per_case + 1)
    ]
    results += [
        ResultInput(case=keys[0][0], attempt=per_case + n, outcome="pass") for n in range(1, 1 + RESULTS - len(results))
    ]
    run = validation_run_record(
        model_version=model, suite=suite, actor=engineer, results=results, started_at=timezone.now()
    )
    if run.result_count != RESULTS:
        raise RuntimeError(f"the benchmark run holds {run.result_count} results, not {RESULTS}")
    return median_ms(lambda: gate_evaluate(validation_run=run, actor=engineer), warmup=WARMUP, runs=RUNS)[0]


def _copy(model: type[models.Model], rows: list[models.Model]) -> list[models.Model]:
    """Insert new rows. Governed models refuse bulk_create because it leaves no history; a plain QuerySet
    bypasses that, acceptable only in this throw-away benchmark database, never in application code."""
    return models.QuerySet(model=model).bulk_create(rows, batch_size=2_000)


@transaction.atomic
def scale_demo_graph() -> None:
    """Copy the support assistant's lineage and registry graph ``COPIES`` times, fed by the same sources."""
    use_case = UseCase.objects.get(slug="support-assistant")
    dataset = Dataset.objects.get(slug="support-chats")
    versions = list(DatasetVersion.objects.filter(dataset=dataset).order_by("number"))
    records = {r.version_id: r for r in LineageRecord.objects.filter(version__in=versions)}
    sources = list(LineageSource.objects.filter(record__version__in=versions))
    edges = list(LineageEdge.objects.filter(child__in=versions))
    runs = list(TrainingRun.objects.filter(use_case=use_case).order_by("pk"))
    links = list(TrainingRunDataset.objects.filter(run__in=runs))
    model_versions = list(ModelVersion.objects.filter(use_case=use_case).order_by("number"))
    deployments = list(Deployment.objects.filter(use_case=use_case))
    for copy in range(1, COPIES + 1):
        [case] = _copy(UseCase, [UseCase(**{**column_values(use_case), "slug": f"{use_case.slug}-{copy}"})])
        [new_dataset] = _copy(
            Dataset, [Dataset(**{**column_values(dataset), "slug": f"{dataset.slug}-{copy}", "use_case_id": case.pk})]
        )
        new_versions = _copy(
            DatasetVersion, [DatasetVersion(**{**column_values(v), "dataset_id": new_dataset.pk}) for v in versions]
        )
        version_map = {old.pk: new.pk for old, new in zip(versions, new_versions, strict=True)}
        new_records = _copy(
            LineageRecord,
            [
                LineageRecord(**{**column_values(records[v.pk]), "version_id": version_map[v.pk]})
                for v in versions
                if v.pk in records
            ],
        )
        record_map = {
            records[v.pk].pk: r.pk for v, r in zip([v for v in versions if v.pk in records], new_records, strict=True)
        }
        _copy(
            LineageSource,
            [LineageSource(**{**column_values(s), "record_id": record_map[s.record_id]}) for s in sources],
        )
        LineageEdge.objects.bulk_create(
            LineageEdge(parent_id=version_map[e.parent_id], child_id=version_map[e.child_id]) for e in edges
        )
        new_runs = _copy(
            TrainingRun,
            [TrainingRun(**{**column_values(r), "run_id": f"{r.run_id}-{copy}", "use_case_id": case.pk}) for r in runs],
        )
        run_map = {old.pk: new.pk for old, new in zip(runs, new_runs, strict=True)}
        TrainingRunDataset.objects.bulk_create(
            TrainingRunDataset(
                run_id=run_map[link.run_id],
                dataset_version_id=version_map[link.dataset_version_id],
                content_digest=link.content_digest,
            )
            for link in links
        )
        new_models = _copy(
            ModelVersion,
            [
                ModelVersion(
                    **{
                        **column_values(m),
                        "name": f"{m.name}-{copy}",
                        "use_case_id": case.pk,
                        "training_run_id": run_map[m.training_run_id],
                    }
                )
                for m in model_versions
            ],
        )
        model_map = {old.pk: new.pk for old, new in zip(model_versions, new_models, strict=True)}
        _copy(
            Deployment,
            [
                Deployment(
                    **{
                        **column_values(d),
                        "use_case_id": case.pk,
                        "current_version_id": model_map.get(d.current_version_id),
                        "previous_stable_version_id": model_map.get(d.previous_stable_version_id),
                    }
                )
                for d in deployments
            ],
        )


def column_values(instance: models.Model) -> dict:
    """The concrete column values of ``instance`` except its primary key."""
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields if not f.primary_key}


def run() -> Iterator[tuple[str, float, str]]:
    seed_demo()
    yield "gate_eval_ms", gate_eval_ms(), "ms"
    scale_demo_graph()
    source = SourceSystem.objects.get(name="Salesforce CRM")
    impact = impact_of_source(source)
    if len(impact.model_versions) != 3 * (COPIES + 1):
        raise RuntimeError(
            f"impact analysis reached {len(impact.model_versions)} model versions, not {3 * (COPIES + 1)}"
        )
    yield "impact_analysis_ms", median_ms(lambda: impact_of_source(source), warmup=WARMUP, runs=RUNS)[0], "ms"
    yield "impact_analysis_model_versions", float(len(impact.model_versions)), "versions"
