"""Helpers the registry's page tests share (unit and browser): records in the states the pages show, made through
the services as the portal makes them."""

import datetime

from django.utils import timezone

from audit.models import LedgerEntry
from governance.models import BehaviorConstraint
from registry.choices import Environment, ExpectedBehaviour, ValidationCategory
from registry.models import Deployment, ModelVersion, ValidationRun
from registry.services.gates import gate_evaluate
from registry.services.validation import (
    ResultInput,
    validation_case_add,
    validation_run_record,
    validation_suite_create,
)


def staged(world) -> ModelVersion:
    """A model version live in staging, with a PASS gate and a complete card: ready for a prod ticket."""
    model = world.model()
    world.promote(model, Environment.STAGING)
    world.card(model)
    return model


def prod_with_previous(world) -> Deployment:
    """Prod runs support-assistant:2; support-assistant:1 ran there before it (the previous stable version)."""
    first = world.model()
    world.promote(first, Environment.PROD)
    second = world.model()
    world.promote(second, Environment.PROD)
    return Deployment.objects.get(use_case=world.use_case, environment=Environment.PROD)


def constraint_of(policy_code: str) -> BehaviorConstraint:
    """A behaviour constraint of the demo organisation mapped to ``policy_code``."""
    return BehaviorConstraint.objects.filter(policies__code=policy_code).order_by("pk").first()


#: (case key, category, policy codes the case proves, passed, total)
MatrixSpec = list[tuple[str, str, tuple[str, ...], int, int]]

ONE_POLICY: MatrixSpec = [
    ("CC-PROMPT", ValidationCategory.PROMPT, ("CC-17",), 9, 10),
    ("CC-ADV", ValidationCategory.ADVERSARIAL, ("CC-17",), 5, 5),
]

SEVERAL_POLICIES: MatrixSpec = [
    *ONE_POLICY,
    ("CC-HUMAN", ValidationCategory.HUMAN_REVIEW, ("CC-17",), 2, 2),
    ("WM-SCEN", ValidationCategory.SCENARIO, ("WM-04",), 3, 4),
    ("WM-PROMPT", ValidationCategory.PROMPT, ("WM-04", "CC-17"), 4, 4),
    ("PHI-ADV", ValidationCategory.ADVERSARIAL, ("PHI-02",), 0, 3),
    ("FREE-PROMPT", ValidationCategory.PROMPT, (), 6, 6),
]


def policy_run(world, model: ModelVersion, spec: MatrixSpec, *, slug: str = "policy-suite") -> ValidationRun:
    """A suite whose cases prove the policies ``spec`` names, and one run of it with the given counts."""
    suite = validation_suite_create(actor=world["mleng"], use_case=world.use_case, slug=slug, title="Policy suite")
    results = []
    for key, category, policies, passed, total in spec:
        validation_case_add(
            suite=suite,
            actor=world["mleng"],
            key=key,
            dimension="safety",
            category=category,
            prompt=f"Probe {key}",
            expected_behaviour=ExpectedBehaviour.REFUSE,
            constraints=[constraint_of(code) for code in policies],
        )
        reviewer = "risk2" if category == ValidationCategory.HUMAN_REVIEW else ""
        results += [
            ResultInput(case=key, attempt=n, outcome="pass" if n <= passed else "fail", human_reviewer=reviewer)
            for n in range(1, total + 1)
        ]
    return validation_run_record(
        model_version=model,
        suite=suite,
        actor=world["mleng"],
        results=results,
        started_at=timezone.now() - datetime.timedelta(minutes=5),
    )


def evaluated(world, run: ValidationRun):
    return gate_evaluate(validation_run=run, actor=world["mleng"])


def last_ledger_entry() -> LedgerEntry:
    return LedgerEntry.objects.order_by("-sequence").first()
