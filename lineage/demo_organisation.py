"""The demo organisation's data: source systems, a lineage template, and dataset versions in every state of
the review workflow for the three demo use cases, all made through the services by the demo people."""

import datetime
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.services.comments import comment_add, thread_of
from governance.models import Policy, UseCase
from lineage.choices import Article9Condition, DatasetVersionState, LegalBasis, Sensitivity, TransformationKind
from lineage.models import Dataset, DatasetVersion, LineageTemplate, SourceSystem
from lineage.services import (
    dataset_create,
    dataset_version_create,
    dataset_version_reject,
    dataset_version_retire,
    dataset_version_review_approve,
    dataset_version_revoke,
    dataset_version_submit,
    lineage_edge_add,
    lineage_record_update,
    lineage_source_add,
    source_system_create,
    transformation_step_add,
)

SOURCES = (
    ("Salesforce CRM", "CRM", ["contact", "identifiers", "financial"], 730),
    ("Zendesk tickets", "Ticketing", ["communications", "identifiers", "payment_card"], 1095),
    ("Contact-centre call transcripts", "Call transcripts", ["communications", "contact"], 365),
    ("Portfolio management system", "Core banking", ["financial", "identifiers"], 3650),
    ("Epic clinical notes", "Electronic health record", ["health", "identifiers"], 3650),
)

SUPPORT_CHATS_POLICY = (
    "Support chats older than 30 days that passed automated and manual PII-redaction checks, from customers "
    "who consented to service improvement."
)

#: Where each demo version ends up: a draft, a review stage, or a final state.
Target = DatasetVersionState


@dataclass(frozen=True)
class DemoVersion:
    target: Target
    sources: tuple[tuple[str, str], ...] = ()  # (source name, legal basis)
    parents: tuple[int, ...] = ()  # numbers of earlier versions of the same dataset
    sensitivity: str = Sensitivity.CONFIDENTIAL
    special_category: bool = False
    steps: tuple[str, ...] = (TransformationKind.FILTER, TransformationKind.REDACT, TransformationKind.DEDUPLICATE)


@dataclass(frozen=True)
class DemoDataset:
    slug: str
    name: str
    use_case: str
    versions: tuple[DemoVersion, ...]
    policies: tuple[str, ...] = field(default=())


DATASETS = (
    DemoDataset(
        "support-chats",
        "Support chats (billing)",
        "support-assistant",
        (
            DemoVersion(
                DatasetVersionState.APPROVED,
                (("Salesforce CRM", LegalBasis.CONTRACT), ("Zendesk tickets", LegalBasis.CONSENT)),
            ),
            DemoVersion(DatasetVersionState.LEGAL_REVIEW, parents=(1,)),
            DemoVersion(DatasetVersionState.DRAFT, parents=(2,)),
        ),
        ("CC-17",),
    ),
    DemoDataset(
        "wealth-faq",
        "Wealth-management product Q&A",
        "wealth-chatbot",
        (
            DemoVersion(
                DatasetVersionState.REVOKED, (("Portfolio management system", LegalBasis.LEGITIMATE_INTERESTS),)
            ),
            DemoVersion(
                DatasetVersionState.APPROVED, (("Portfolio management system", LegalBasis.LEGITIMATE_INTERESTS),)
            ),
            DemoVersion(DatasetVersionState.SECURITY_REVIEW, parents=(2,)),
        ),
        ("WM-04",),
    ),
    DemoDataset(
        "discharge-notes",
        "Discharge-letter training pairs",
        "clinical-notes",
        (
            DemoVersion(
                DatasetVersionState.REJECTED,
                (("Epic clinical notes", LegalBasis.PUBLIC_TASK),),
                sensitivity=Sensitivity.RESTRICTED,
                special_category=True,
            ),
            DemoVersion(
                DatasetVersionState.COMPLIANCE_REVIEW,
                (("Epic clinical notes", LegalBasis.PUBLIC_TASK),),
                sensitivity=Sensitivity.RESTRICTED,
                special_category=True,
                steps=(TransformationKind.FILTER, TransformationKind.PSEUDONYMISE, TransformationKind.SAMPLE),
            ),
        ),
        ("PHI-02",),
    ),
    DemoDataset(
        "call-transcripts",
        "Call transcripts (2025 pilot)",
        "support-assistant",
        (DemoVersion(DatasetVersionState.RETIRED, (("Contact-centre call transcripts", LegalBasis.CONSENT),)),),
    ),
)


#: The languages of what each source system holds (its lineage sources declare them).
SOURCE_LANGUAGES = {
    "Salesforce CRM": ["de", "en"],
    "Zendesk tickets": ["de", "en", "fr"],
    "Portfolio management system": ["en"],
    "Epic clinical notes": ["de"],
    "Contact-centre call transcripts": ["en"],
}


def _digest(*parts: object) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def _people() -> dict[str, object]:
    return get_user_model().objects.in_bulk(
        ["mleng", "steward", "legal", "security", "compliance"], field_name="username"
    )


def seed_sources(people: dict) -> dict[str, SourceSystem]:
    sources = {}
    for name, kind, categories, retention in SOURCES:
        sources[name] = SourceSystem.objects.filter(name=name).first() or source_system_create(
            actor=people["steward"],
            name=name,
            kind=kind,
            owner=people["steward"],
            data_categories=categories,
            default_retention_days=retention,
        )
    return sources


def seed_template() -> LineageTemplate:
    from audit.audit_context import acting_as

    template = LineageTemplate.objects.filter(name="Support chats (playbook)").first()
    if template is None:
        with transaction.atomic(), acting_as(actor_name="system:demo-import"):
            template = LineageTemplate.objects.create(
                name="Support chats (playbook)",
                description="The playbook's extraction policy for support conversations.",
                defaults={
                    "sensitivity": Sensitivity.CONFIDENTIAL,
                    "data_categories": ["communications", "contact", "payment_card"],
                    "consent_scope": "service improvement",
                    "retention_days": 730,
                    "retention_basis": "Customer-service records policy, 24 months",
                    "privacy_controls": ["redaction", "pseudonymisation"],
                    "filters": SUPPORT_CHATS_POLICY,
                    "sampling_method": "Stratified by product line, 5% of eligible conversations",
                },
            )
    return template


def _drive(version: DatasetVersion, target: Target, people: dict, password: str) -> DatasetVersion:
    """Move a draft along the workflow to ``target``, each step by the person whose job it is."""
    if target == DatasetVersionState.DRAFT:
        return version
    version = dataset_version_submit(version=version, actor=people["mleng"])
    reviewer_for = {
        DatasetVersionState.LEGAL_REVIEW: "legal",
        DatasetVersionState.SECURITY_REVIEW: "security",
        DatasetVersionState.COMPLIANCE_REVIEW: "compliance",
    }
    if target == DatasetVersionState.REJECTED:
        return dataset_version_reject(
            version=version, reviewer=people["legal"], reason="The Art. 9 condition does not cover model training."
        )
    final = (
        DatasetVersionState.APPROVED
        if target in (DatasetVersionState.APPROVED, DatasetVersionState.REVOKED, DatasetVersionState.RETIRED)
        else target
    )
    while version.state != final:
        version = dataset_version_review_approve(
            version=version, reviewer=people[reviewer_for[version.state]], password=password
        )
    actions: dict[str, Callable[[], DatasetVersion]] = {
        DatasetVersionState.REVOKED: lambda: dataset_version_revoke(
            version=version, actor=people["compliance"], reason="Superseded after a data-quality finding."
        ),
        DatasetVersionState.RETIRED: lambda: dataset_version_retire(version=version, actor=people["compliance"]),
    }
    return actions[target]() if target in actions else version


@transaction.atomic
def seed_dataset(spec: DemoDataset, people: dict, sources: dict, template: LineageTemplate, password: str) -> None:
    """All of a dataset or none of it, so an interrupted seed is completed by the next run."""
    if Dataset.objects.filter(slug=spec.slug).exists():
        return
    dataset = dataset_create(
        actor=people["steward"],
        slug=spec.slug,
        name=spec.name,
        steward=people["steward"],
        use_case=UseCase.objects.filter(slug=spec.use_case).first(),
    )
    policies = list(Policy.objects.filter(code__in=spec.policies))
    versions: dict[int, DatasetVersion] = {}
    for number, demo in enumerate(spec.versions, start=1):
        version = dataset_version_create(
            dataset=dataset,
            actor=people["mleng"],
            content_digest=_digest(spec.slug, number),
            row_count=40_000 * number,
            size_bytes=16_000_000 * number,
            storage_uri=f"s3://training-data/{spec.slug}/v{number}/data.parquet",
            template=template if spec.slug == "support-chats" else None,
            retention_days=730,
            sensitivity=demo.sensitivity,
        )
        lineage_record_update(
            version=version,
            actor=people["mleng"],
            policies=policies,
            dpia_reference="DPIA-2026-07" if demo.special_category else "",
            privacy_controls=["pseudonymisation", "access_control"]
            if demo.sensitivity == Sensitivity.RESTRICTED
            else [],
            consent_scope="service improvement",
        )
        start = datetime.date(2026, 1, 1) + datetime.timedelta(days=60 * (number - 1))
        for name, basis in demo.sources:
            lineage_source_add(
                version=version,
                actor=people["mleng"],
                source_system=sources[name],
                legal_basis=basis,
                special_category=demo.special_category,
                article9_condition=Article9Condition.HEALTH_CARE if demo.special_category else "",
                period_start=start,
                period_end=start + datetime.timedelta(days=59),
                languages=SOURCE_LANGUAGES.get(name, []),
            )
        for parent in demo.parents:
            lineage_edge_add(child=version, parent=versions[parent], actor=people["mleng"])
        for kind in demo.steps:
            transformation_step_add(
                version=version,
                actor=people["mleng"],
                kind=kind,
                tool=f"datapipe.{kind}",
                code_version="a41c9e2",
                parameters={"dataset": spec.slug, "step": kind},
                output_digest=_digest(spec.slug, number, kind),
            )
        versions[number] = _drive(version, demo.target, people, password)


#: The discussion on the version waiting in legal review: the reviewer asks, the data steward answers.
REVIEW_THREAD = (
    ("legal", "Which DPA covers the Zendesk export, and does its purpose clause allow training on these chats?"),
    ("steward", "DPA-2024-17 with Zendesk, clause 4.2: model improvement is a listed purpose. Attached to the source."),
)


def seed_review_thread(people: dict) -> None:
    """A short thread on support-chats@2, in legal review (once: the seed adds nothing to a thread it finds)."""
    version = DatasetVersion.objects.get(dataset__slug="support-chats", number=2)
    if thread_of(version):
        return
    for username, text in REVIEW_THREAD:
        comment_add(target=version, author=people[username], text=text)


def seed(*, password: str) -> None:
    people = _people()
    sources = seed_sources(people)
    template = seed_template()
    for spec in DATASETS:
        seed_dataset(spec, people, sources, template, password)
    seed_review_thread(people)
