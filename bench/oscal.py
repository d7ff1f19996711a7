"""A use case's OSCAL assessment results on the demo organisation, scaled up.

``oscal_assessment_results_ms``: building and serialising the support assistant's assessment results once it has
``GATES`` more gate decisions and ``INCIDENTS`` more open incidents than the demo gives it (median), with
``oscal_assessment_results_items``, the observations and findings the document holds.
``oscal_assessment_results_ratio_to_serialise``: that time over trestle's own serialisation of the same document
(building it from the models the rest: a fixed number of queries, then one object per record).
"""

from collections.abc import Iterator

from django.contrib.auth import get_user_model

from bench.registry import seed_demo
from bench.timing import median_ms
from evidence.oscal_results import assessment_results, assessment_results_json
from governance.models import UseCase
from registry.choices import IncidentSeverity, IncidentSource
from registry.models import ValidationRun
from registry.services.gates import gate_evaluate
from registry.services.incidents import incident_open

GATES = 1_000
INCIDENTS = 500
WARMUP = 1
RUNS = 7


def grow(use_case: UseCase) -> None:
    engineer = get_user_model().objects.get(username="mleng")
    run = ValidationRun.objects.filter(model_version__use_case=use_case).order_by("pk").first()
    for _ in range(GATES):
        gate_evaluate(validation_run=run, actor=engineer)
    for n in range(INCIDENTS):
        incident_open(
            use_case=use_case,
            actor=engineer,
            title=f"Benchmark incident {n}",
            description="Raised to measure the export.",
            severity=IncidentSeverity.SEV4,
            source=IncidentSource.ON_CALL,
        )


def run() -> Iterator[tuple[str, float, str]]:
    seed_demo()
    use_case = UseCase.objects.get(slug="support-assistant")
    grow(use_case)
    elapsed, _body = median_ms(lambda: assessment_results_json(use_case), warmup=WARMUP, runs=RUNS)
    document = assessment_results(use_case)
    (result,) = document.results
    items = len(result.observations or []) + len(result.findings or [])
    if items < GATES + INCIDENTS:
        raise RuntimeError(f"the document holds {items} observations and findings, fewer than were recorded")
    serialise, _ = median_ms(
        lambda: document.oscal_serialize_json_bytes(pretty=True, wrapped=True), warmup=WARMUP, runs=RUNS
    )
    yield "oscal_assessment_results_ms", elapsed, "ms"
    yield "oscal_assessment_results_items", float(items), "items"
    yield "oscal_assessment_results_ratio_to_serialise", elapsed / serialise, "ratio"
