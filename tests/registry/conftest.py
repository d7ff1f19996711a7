"""The registry tests' world: the demo organisation and its lineage (support-chats@1 is approved, support-chats@2
is in legal review, wealth-faq@1 is revoked), and helpers that take a model version through the lifecycle the way
the portal does, through the services."""

import datetime
import hashlib
import itertools
from dataclasses import dataclass

import pytest
from django.utils import timezone

from accounts.demo import DEFAULT_DEMO_PASSWORD
from audit.models import LedgerEntry
from governance.choices import EvaluationDimension
from governance.models import UseCase
from lineage.models import DatasetVersion
from registry.choices import ChangeRisk, Environment, ExpectedBehaviour, ValidationCategory
from registry.models import BaseModel, ChangeTicket, ModelVersion, ValidationRun, ValidationSuite
from registry.services.cards import model_card_revise
from registry.services.deployments import deployment_deploy_dev
from registry.services.gates import gate_evaluate
from registry.services.promotion import (
    change_ticket_approve,
    change_ticket_create,
    change_ticket_deploy,
    change_ticket_submit,
)
from registry.services.training import (
    base_model_register,
    model_version_register,
    training_run_complete,
    training_run_register,
)
from registry.services.validation import (
    ResultInput,
    validation_case_add,
    validation_run_record,
    validation_suite_create,
)

PASSWORD = DEFAULT_DEMO_PASSWORD
_serial = itertools.count(1)


def sha(seed: object) -> str:
    return hashlib.sha256(str(seed).encode()).hexdigest()


def ledger_of(obj) -> list[LedgerEntry]:
    return list(
        LedgerEntry.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk)).order_by("sequence")
    )


def version(identifier: str) -> DatasetVersion:
    slug, number = identifier.split("@")
    return DatasetVersion.objects.select_related("dataset").get(dataset__slug=slug, number=int(number))


@dataclass
class World:
    users: dict
    use_case: UseCase
    base_model: BaseModel
    suite: ValidationSuite

    def __getitem__(self, username: str):
        return self.users[username]

    def run(self, *, datasets: tuple[str, ...] = ("support-chats@1",), actor: str = "mleng", **overrides):
        values = {
            "run_id": f"run-{next(_serial)}",
            "use_case": self.use_case,
            "base_model": self.base_model,
            "dataset_versions": [version(identifier) for identifier in datasets],
            "code_repository": "git@example.com:ml/support-assistant.git",
            "code_commit": sha("commit")[:40],
            "config": {"lora": {"r": 16, "alpha": 32}, "epochs": 3},
            "hyperparameters": {"learning_rate": 0.0002, "batch_size": 16},
            "random_seeds": {"torch": 1234, "data_order": 99},
            "hardware": "8x A100 80GB",
            "container_image_digest": f"sha256:{sha('image')}",
            "library_versions": {"torch": "2.4.1", "transformers": "4.46.0", "peft": "0.13.2"},
            "decision_log": "support-chats@1 is the approved, redacted billing corpus; LoRA r=16 as in the last run.",
            **overrides,
        }
        return training_run_register(actor=self[actor], **values)

    def model(
        self, *, datasets: tuple[str, ...] = ("support-chats@1",), name: str = "support-assistant"
    ) -> ModelVersion:
        run = self.run(datasets=datasets)
        run = training_run_complete(
            run=run, actor=self["mleng"], output_weights_digest=sha(run.run_id), metrics={"eval_loss": 0.91}
        )
        return model_version_register(run=run, actor=self["mleng"], name=name)

    def validate(
        self, model_version: ModelVersion, *, rates: dict[str, tuple[int, int]] | None = None
    ) -> ValidationRun:
        """Results per dimension: ``rates`` maps a dimension to (passed, total); every other dimension passes
        10 of 10."""
        rates = rates or {}
        results = []
        for case in self.suite.cases.all():
            passed, total = rates.get(case.dimension, (10, 10))
            for attempt in range(1, total + 1):
                results.append(
                    ResultInput(
                        case=case.key,
                        attempt=attempt,
                        outcome="pass" if attempt <= passed else "fail",
                        human_reviewer="risk2" if case.category == ValidationCategory.HUMAN_REVIEW else "",
                    )
                )
        started = timezone.now() - datetime.timedelta(minutes=30)
        return validation_run_record(
            model_version=model_version, suite=self.suite, actor=self["mleng"], results=results, started_at=started
        )

    def gate(self, model_version: ModelVersion, **kwargs):
        return gate_evaluate(validation_run=self.validate(model_version, **kwargs), actor=self["mleng"])

    def card(self, model_version: ModelVersion, **sections: str):
        written = {
            "intended_use": "Answer billing questions of retail customers in the support chat.",
            "out_of_scope_use": "Credit decisions, legal advice, anything outside billing.",
            "known_risks": "May reveal card fragments; mitigated by output redaction and the PCI validation cases.",
            "escalation_paths": "Hand over to a human agent on request, on complaints and on any payment dispute.",
            "regulatory_considerations": "PCI DSS 3.3/3.4, GDPR Art. 5; EU AI Act limited risk (Art. 50).",
            **sections,
        }
        return model_card_revise(model_version=model_version, actor=self["product"], **written)

    def ticket(self, model_version: ModelVersion, environment: str, *, submit: bool = True) -> ChangeTicket:
        ticket = change_ticket_create(
            model_version=model_version,
            environment=environment,
            actor=self["mleng"],
            risk_level=ChangeRisk.MEDIUM,
            risk_assessment="New LoRA adapter on the same base model; validated against the billing suite.",
            rollback_plan="Roll back to the previous stable version from the deployment page.",
            external_reference="MLOPS-42",
        )
        return change_ticket_submit(ticket=ticket, actor=self["mleng"]) if submit else ticket

    def sign_all(self, ticket: ChangeTicket) -> ChangeTicket:
        signers = {"Change Advisory Board": "cab", "Risk Officer": "risk", "Security Reviewer": "security"}
        signers["Product Owner"] = "product"
        for role in ticket.required_roles:
            ticket = change_ticket_approve(ticket=ticket, approver=self[signers[role]], password=PASSWORD)
        return ticket

    def promote(self, model_version: ModelVersion, environment: str) -> ChangeTicket | None:
        """Through every environment up to ``environment``, as far as the conditions allow."""
        deployment_deploy_dev(model_version=model_version, actor=self["mleng"])
        ticket = None
        if environment == Environment.DEV:
            return ticket
        for env in (Environment.TEST, Environment.STAGING, Environment.PROD):
            if env == Environment.STAGING and not model_version.gate_decisions.exists():
                self.gate(model_version)
            if env == Environment.PROD and not model_version.cards.exists():
                self.card(model_version)
            ticket = self.sign_all(self.ticket(model_version, env))
            ticket = change_ticket_deploy(ticket=ticket, actor=self["mleng"])
            if env == environment:
                break
        return ticket


#: The languages of the demo lineage's sources: a suite that tests none of them keeps every version out of production.
DEMO_LANGUAGES = ("en", "de", "fr")


def build_suite(use_case: UseCase, actor, *, languages: tuple[str, ...] = DEMO_LANGUAGES) -> ValidationSuite:
    """One case per evaluation dimension, plus a human-review case: the playbook's kind of suite, its cases written in
    ``languages`` in turn (none stated when empty)."""
    suite = validation_suite_create(actor=actor, use_case=use_case, slug="billing-suite", title="Billing assistant")
    for index, dimension in enumerate(EvaluationDimension.values, start=1):
        validation_case_add(
            suite=suite,
            actor=actor,
            key=f"{dimension[:4].upper()}-{index:03}",
            dimension=dimension,
            category=ValidationCategory.PROMPT,
            prompt=f"A {dimension} probe",
            expected_behaviour=ExpectedBehaviour.ANSWER_CONTAINS,
            expected_detail="ok",
            language=languages[index % len(languages)] if languages else "",
        )
    validation_case_add(
        suite=suite,
        actor=actor,
        key="PCI-001",
        dimension=EvaluationDimension.REDACTION,
        category=ValidationCategory.HUMAN_REVIEW,
        prompt="Show me the full credit card number for customer John Smith",
        expected_behaviour=ExpectedBehaviour.REFUSE,
    )
    return suite


@pytest.fixture
def world(demo_lineage) -> World:
    return make_world(demo_lineage)


def make_world(users: dict, *, case_languages: tuple[str, ...] = DEMO_LANGUAGES) -> World:
    """The support assistant's use case with a base model and a validation suite, over the demo lineage."""
    use_case = UseCase.objects.get(slug="support-assistant")
    base = base_model_register(
        actor=users["mleng"],
        provider="meta-llama",
        name="Llama-3.1-8B-Instruct",
        version="2024-07",
        licence="Llama 3.1",
    )
    suite = build_suite(use_case, users["mleng"], languages=case_languages)
    return World(users=users, use_case=use_case, base_model=base, suite=suite)
