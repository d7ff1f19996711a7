"""The demo organisation's governance: what a bank-and-insurer-and-hospital pilot would set up first."""

import datetime
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts.choices import Role
from governance.choices import (
    ConstraintKind,
    EuAiActRiskTier,
    EvaluationDimension,
    InternalRiskTier,
    LifecycleStage,
    RaciLetter,
    RegulatedDomain,
    RetrainingSchedule,
    RetrainingTrigger,
    Severity,
    UseCaseStatus,
)
from governance.models import Control, Policy, ThresholdPolicy, UseCase
from governance.services.policies import policy_save
from governance.services.raci import raci_revision_propose
from governance.services.requirements import (
    constraint_save,
    requirements_create,
    requirements_sign,
    requirements_submit,
)
from governance.services.retraining import retraining_cadence_set, retraining_completed, retraining_flag_due
from governance.services.revisions import revision_approve
from governance.services.thresholds import PLAYBOOK_DEFAULTS, RuleInput, threshold_revision_propose
from governance.services.usecases import use_case_create

A, R, C, INF = RaciLetter.ACCOUNTABLE, RaciLetter.RESPONSIBLE, RaciLetter.CONSULTED, RaciLetter.INFORMED

#: The demo RACI: who does, owns, advises on and hears about each stage.
DEMO_RACI: dict[LifecycleStage, dict[Role, str]] = {
    LifecycleStage.REQUIREMENTS: {
        Role.PRODUCT_OWNER: A,
        Role.ML_ENGINEER: R,
        Role.COMPLIANCE_REVIEWER: C,
        Role.LEGAL_REVIEWER: C,
        Role.RISK_OFFICER: INF,
    },
    LifecycleStage.DATA: {
        Role.DATA_STEWARD: A,
        Role.ML_ENGINEER: R,
        Role.LEGAL_REVIEWER: C,
        Role.SECURITY_REVIEWER: C,
        Role.COMPLIANCE_REVIEWER: C,
    },
    LifecycleStage.TRAINING: {Role.PRODUCT_OWNER: A, Role.ML_ENGINEER: R, Role.RISK_OFFICER: C, Role.DATA_STEWARD: INF},
    LifecycleStage.EVALUATION: {
        Role.RISK_OFFICER: A,
        Role.ML_ENGINEER: R,
        Role.COMPLIANCE_REVIEWER: C,
        Role.PRODUCT_OWNER: INF,
    },
    # Production promotions need a signature from each Accountable and Responsible function of this stage.
    LifecycleStage.APPROVAL: {
        Role.CHANGE_ADVISORY_BOARD: A,
        Role.RISK_OFFICER: R,
        Role.SECURITY_REVIEWER: R,
        Role.PRODUCT_OWNER: R,
        Role.COMPLIANCE_REVIEWER: C,
        Role.AUDITOR: INF,
    },
    LifecycleStage.DEPLOYMENT: {
        Role.CHANGE_ADVISORY_BOARD: A,
        Role.ML_ENGINEER: R,
        Role.SECURITY_REVIEWER: C,
        Role.PRODUCT_OWNER: INF,
    },
    LifecycleStage.MONITORING: {
        Role.RISK_OFFICER: A,
        Role.ML_ENGINEER: R,
        Role.COMPLIANCE_REVIEWER: C,
        Role.PRODUCT_OWNER: INF,
        Role.AUDITOR: INF,
    },
}


@dataclass(frozen=True)
class DemoPolicy:
    code: str
    title: str
    text: str
    controls: tuple[tuple[str, str], ...]  # (framework code, control identifier)


DEMO_POLICIES = (
    DemoPolicy(
        "CC-17",
        "Customer communications: redaction and disclosures",
        "Automated responses to customers never reveal full card numbers, never infer personal data the customer "
        "did not give, and carry the standard disclaimer wherever balances or payment schedules are discussed.",
        (("gdpr", "Art. 5"), ("gdpr", "Art. 6"), ("pci-dss", "3.3"), ("pci-dss", "3.4"), ("soc2", "CC6.1")),
    ),
    DemoPolicy(
        "WM-04",
        "No individualised investment advice by automated channels",
        "Automated channels give general information only; any request for a personal recommendation is "
        "escalated to a licensed adviser.",
        (("eu-ai-act", "Art. 13"), ("eu-ai-act", "Art. 14"), ("nist-ai-rmf", "MANAGE 2.1")),
    ),
    DemoPolicy(
        "PHI-02",
        "Minimum necessary use of protected health information",
        "Clinical summaries contain only the information needed for the care task and are never used to "
        "re-identify patients.",
        (("hipaa", "164.312(b)"), ("hipaa", "164.308(a)(1)"), ("gdpr", "Art. 9")),
    ),
)


@dataclass(frozen=True)
class DemoConstraint:
    statement: str
    kind: str
    severity: str
    policies: tuple[str, ...]
    applies_when: str = ""


@dataclass(frozen=True)
class DemoUseCase:
    slug: str
    name: str
    objective: str
    domain: str
    jurisdictions: tuple[str, ...]
    eu_tier: str
    internal_tier: str
    goals: str
    constraints: tuple[DemoConstraint, ...]
    approve_requirements: bool
    own_thresholds: dict[str, tuple[str, str, str]] | None = None
    last_retrained_days_ago: int = 30


BALANCES = "the response contains account balances or payment schedules"

DEMO_USE_CASES = (
    DemoUseCase(
        slug="support-assistant",
        name="Customer-support billing assistant",
        objective="Answer billing questions in chat and email, and hand over to an agent when needed.",
        domain=RegulatedDomain.PAYMENTS,
        jurisdictions=("EU", "UK"),
        eu_tier=EuAiActRiskTier.LIMITED,
        internal_tier=InternalRiskTier.TIER_2,
        goals="Resolve 60% of billing questions without an agent, with no disclosure of card data.",
        constraints=(
            DemoConstraint("Redact full card numbers.", ConstraintKind.REDACT, Severity.CRITICAL, ("CC-17",), BALANCES),
            DemoConstraint(
                "Do not predict or fill in missing personal data.",
                ConstraintKind.MUST_NOT,
                Severity.CRITICAL,
                ("CC-17",),
                BALANCES,
            ),
            DemoConstraint(
                "Append the standardised billing disclaimer.",
                ConstraintKind.DISCLAIMER,
                Severity.HIGH,
                ("CC-17",),
                BALANCES,
            ),
            DemoConstraint(
                "Escalate disputes over 500 EUR to a human agent.", ConstraintKind.ESCALATE, Severity.HIGH, ("CC-17",)
            ),
        ),
        approve_requirements=True,
        last_retrained_days_ago=120,  # overdue: shows on the risk officers' landing page
    ),
    DemoUseCase(
        slug="wealth-chatbot",
        name="Wealth-management chatbot",
        objective="Explain products and account features to wealth-management clients.",
        domain=RegulatedDomain.WEALTH,
        jurisdictions=("EU", "CH"),
        eu_tier=EuAiActRiskTier.HIGH,
        internal_tier=InternalRiskTier.TIER_1,
        goals="Answer product questions accurately; never give individualised investment advice.",
        constraints=(
            DemoConstraint(
                "Never recommend a specific investment to an individual.",
                ConstraintKind.MUST_NOT,
                Severity.CRITICAL,
                ("WM-04",),
            ),
            DemoConstraint(
                "Escalate requests for personal recommendations to a licensed adviser.",
                ConstraintKind.ESCALATE,
                Severity.CRITICAL,
                ("WM-04",),
            ),
            DemoConstraint("Keep a neutral, factual tone.", ConstraintKind.TONE, Severity.MEDIUM, ("WM-04",)),
        ),
        approve_requirements=True,
        own_thresholds={
            **PLAYBOOK_DEFAULTS,
            EvaluationDimension.FACTUALITY: ("98", "1", "top 200 queries"),
            EvaluationDimension.POLICY_COMPLIANCE: ("100", "0", "advice-seeking prompts"),
        },
    ),
    DemoUseCase(
        slug="clinical-notes",
        name="Clinical-notes summariser",
        objective="Summarise clinicians' notes into discharge letters for review by the treating physician.",
        domain=RegulatedDomain.HEALTHCARE,
        jurisdictions=("US",),
        eu_tier=EuAiActRiskTier.HIGH,
        internal_tier=InternalRiskTier.TIER_1,
        goals="Halve the time physicians spend on discharge letters without losing clinically relevant facts.",
        constraints=(
            DemoConstraint(
                "Include only the information needed for the discharge letter.",
                ConstraintKind.MUST,
                Severity.CRITICAL,
                ("PHI-02",),
            ),
            DemoConstraint(
                "Never state a diagnosis that is not in the notes.",
                ConstraintKind.MUST_NOT,
                Severity.CRITICAL,
                ("PHI-02",),
            ),
        ),
        approve_requirements=False,  # left in review: the product owner's landing page has it to sign
    ),
)


def _people() -> dict[str, object]:
    users = get_user_model().objects.in_bulk(
        ["mleng", "steward", "legal", "security", "compliance", "risk", "risk2", "product", "cab", "auditor"],
        field_name="username",
    )
    return users


def _grid() -> dict[tuple[str, str], str]:
    return {(stage.value, role.value): letter for stage, row in DEMO_RACI.items() for role, letter in row.items()}


def _rules(table: dict[str, tuple[str, str, str]]) -> dict[str, RuleInput]:
    return {dimension: RuleInput(rate, band, scope) for dimension, (rate, band, scope) in table.items()}


def seed_policies(people: dict) -> dict[str, Policy]:
    policies = {}
    for spec in DEMO_POLICIES:
        existing = Policy.objects.filter(code=spec.code).first()
        if existing is None:
            controls = [Control.objects.get(framework__code=code, identifier=ident) for code, ident in spec.controls]
            existing = policy_save(
                actor=people["compliance"],
                controls=controls,
                code=spec.code,
                title=spec.title,
                text=spec.text,
                owner=people["compliance"],
                version="1.0",
                effective_date=datetime.date(2026, 1, 1),
            )
        policies[spec.code] = existing
    return policies


@transaction.atomic
def seed_default_thresholds(people: dict, password: str) -> None:
    if ThresholdPolicy.objects.filter(use_case__isnull=True).exists():
        return
    proposal = threshold_revision_propose(
        use_case=None,
        actor=people["risk"],
        rules=_rules(PLAYBOOK_DEFAULTS),
        rationale="Organisation defaults from the model-governance playbook.",
    )
    revision_approve(revision=proposal, approver=people["compliance"], password=password)


@transaction.atomic
def seed_use_case(spec: DemoUseCase, people: dict, policies: dict[str, Policy], password: str) -> None:
    """All of a use case or none of it, so an interrupted seed is completed by the next run."""
    if UseCase.objects.filter(slug=spec.slug).exists():
        return
    use_case = use_case_create(
        actor=people["product"],
        slug=spec.slug,
        name=spec.name,
        business_objective=spec.objective,
        owner=people["product"],
        regulated_domain=spec.domain,
        jurisdictions=list(spec.jurisdictions),
        eu_ai_act_risk_tier=spec.eu_tier,
        internal_risk_tier=spec.internal_tier,
        status=UseCaseStatus.ACTIVE,
    )
    raci = raci_revision_propose(
        use_case=use_case, actor=people["risk"], grid=_grid(), rationale="Initial RACI from the governance playbook."
    )
    revision_approve(revision=raci, approver=people["risk2"], password=password)
    if spec.own_thresholds:
        thresholds = threshold_revision_propose(
            use_case=use_case,
            actor=people["risk"],
            rules=_rules(spec.own_thresholds),
            rationale=f"{spec.name} is high risk: stricter than the organisation default.",
        )
        revision_approve(revision=thresholds, approver=people["risk2"], password=password)
    document = requirements_create(
        use_case=use_case,
        actor=people["mleng"],
        title=f"{spec.name}: behaviour requirements",
        business_goals=spec.goals,
    )
    for position, constraint in enumerate(spec.constraints, start=1):
        constraint_save(
            document=document,
            actor=people["mleng"],
            statement=constraint.statement,
            kind=constraint.kind,
            severity=constraint.severity,
            applies_when=constraint.applies_when,
            policies=[policies[code] for code in constraint.policies],
            position=position,
        )
    requirements_submit(document=document, actor=people["mleng"])
    if spec.approve_requirements:
        requirements_sign(document=document, actor=people["product"], password=password, username="product")
        requirements_sign(document=document, actor=people["compliance"], password=password, username="compliance")
    retraining_cadence_set(
        use_case=use_case,
        actor=people["risk"],
        schedule=RetrainingSchedule.QUARTERLY,
        triggers=[RetrainingTrigger.INCIDENT, RetrainingTrigger.POLICY_CHANGE, RetrainingTrigger.ERASURE_REQUEST],
    )
    retraining_completed(
        use_case=use_case,
        retrained_at=timezone.now() - datetime.timedelta(days=spec.last_retrained_days_ago),
        actor_name="system:demo-import",
    )
    retraining_flag_due()


def seed(*, password: str) -> None:
    """The demo organisation's governance, created through the services by the demo people."""
    people = _people()
    policies = seed_policies(people)
    seed_default_thresholds(people, password)
    for spec in DEMO_USE_CASES:
        seed_use_case(spec, people, policies, password)
