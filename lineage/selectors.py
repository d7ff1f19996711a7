"""Reads of the lineage app: where a version stands in review, who reviews it, whether it may be trained on,
what stops its submission and which versions an erasure request reaches. Nothing here writes."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q

from audit.models.signatures import Signature
from audit.signatures import signatures_for
from lineage.choices import (
    STAGE_BY_STATE,
    STAGES,
    DatasetVersionState,
    LegalBasis,
    ReviewStage,
    Sensitivity,
    SourceStatus,
)
from lineage.graph import downstream_version_ids
from lineage.models import DatasetVersion, DatasetVersionReviewer, ErasureRequest, LineageSource


def stage_of(version: DatasetVersion) -> ReviewStage | None:
    return STAGE_BY_STATE.get(version.state)


def assigned_reviewers(version: DatasetVersion, stage: ReviewStage) -> list[AbstractBaseUser]:
    ids = DatasetVersionReviewer.objects.filter(content_object=version, permission__codename=stage.permission)
    return list(get_user_model().objects.filter(pk__in=ids.values("user_id")))


def is_assigned(user: AbstractBaseUser, version: DatasetVersion, stage: ReviewStage) -> bool:
    """Explicitly, not through guardian's checker, which says yes to every superuser."""
    return DatasetVersionReviewer.objects.filter(
        content_object=version, user=user, permission__codename=stage.permission
    ).exists()


def stage_signers(version: DatasetVersion, signatures: list[tuple[Signature, bool]] | None = None) -> dict[int, str]:
    """Signer id -> stage meaning, for the stage signatures that still hold on this exact content (the person a
    delegate signed on behalf of counts as a signer of that stage too). A page that already read the version's
    ``signatures_for`` passes them, so the content digest is not computed twice."""
    meanings = {stage.meaning for stage in STAGES}
    signers = {}
    for signature, valid in signatures if signatures is not None else signatures_for(version):
        if valid and signature.meaning in meanings:
            # A signature made on someone's behalf is a stage both people took part in.
            for person in (signature.on_behalf_of_id, signature.signer_id):
                if person is not None:
                    signers[person] = signature.meaning
    return signers


def approved_for_training(
    version: DatasetVersion, signatures: list[tuple[Signature, bool]] | None = None
) -> tuple[bool, list[str]]:
    """Whether a training run may use the version, with every reason if not. A material change after approval
    invalidates a stage signature, and so the approval."""
    reasons = []
    if version.state != DatasetVersionState.APPROVED:
        reasons.append(f"{version} is {version.get_state_display().lower()}, not approved for training.")
    signers = stage_signers(version, signatures)
    for stage in STAGES:
        if stage.meaning not in signers.values():
            reasons.append(f"{version} has no valid {stage.role.label} signature on its current content.")
    if len(signers) < len(STAGES) and not reasons:
        reasons.append(f"{version} needs three different signers.")
    return (not reasons, reasons)


def submission_problems(version: DatasetVersion) -> list[str]:
    """What stops the version from going to review, each said so that the author knows what to fix."""
    record = version.lineage
    sources = list(record.sources.select_related("source_system"))
    problems = []
    if not sources and not version.parent_edges.exists():
        problems.append("Name at least one source system or parent dataset version.")
    for source in sources:
        if source.legal_basis == LegalBasis.CONSENT and not record.consent_scope.strip():
            problems.append(f"{source.source_system}: consent is the legal basis, so state the consent scope.")
        if source.special_category:
            if not source.article9_condition:
                problems.append(f"{source.source_system}: special-category data needs an Art. 9 condition.")
            if not record.dpia_reference.strip():
                problems.append(f"{source.source_system}: special-category data needs a DPIA reference.")
        if source.source_system.status != SourceStatus.ACTIVE:
            problems.append(f"{source.source_system} is decommissioned.")
    if record.sensitivity == Sensitivity.RESTRICTED and not record.privacy_controls:
        problems.append("Restricted data needs the privacy controls applied (redaction, pseudonymisation, ...).")
    if record.retention_days is None:
        problems.append("Set the retention period.")
    return problems


def affected_versions(request: ErasureRequest) -> tuple[set[int], set[int]]:
    """(versions drawn directly from the request's sources in an overlapping period, versions derived from
    them). A source period left open counts as overlapping: when in doubt, a version is affected."""
    overlap = Q()
    if request.period_end:
        overlap &= Q(period_start__isnull=True) | Q(period_start__lte=request.period_end)
    if request.period_start:
        overlap &= Q(period_end__isnull=True) | Q(period_end__gte=request.period_start)
    direct = set(
        LineageSource.objects.filter(overlap, source_system__in=request.source_systems.all()).values_list(
            "record__version_id", flat=True
        )
    )
    return direct, downstream_version_ids(direct) - direct
