"""Taking data out of use: revoking and retiring approved versions, and processing erasure requests with an
impact report (which versions held the data, which were derived from them, what was revoked or flagged)."""

import datetime
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.authz import require
from audit.audit_context import acting_as
from audit.ledger import ActionDenied, denials_recorded
from governance.choices import RetrainingTrigger
from governance.services.retraining import retraining_trigger_event
from lineage.choices import DatasetVersionState, ErasureKind, ErasureState, SourceStatus
from lineage.models import DatasetVersion, ErasureRequest, SourceSystem
from lineage.selectors import affected_versions

#: States in which a version is out of use already: revoking it again changes nothing.
OUT_OF_USE = {DatasetVersionState.REVOKED, DatasetVersionState.RETIRED, DatasetVersionState.REJECTED}


def _revoke(version: DatasetVersion, reason: str) -> None:
    version.revoke()
    version._change_reason = reason[:100]
    version.save()


def dataset_version_revoke(*, version: DatasetVersion, actor: AbstractBaseUser, reason: str) -> DatasetVersion:
    """Withdraw an approved version from training (erasure, decommissioned source, legal change)."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why the version is revoked."})
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = DatasetVersion.objects.select_for_update().get(pk=version.pk)
        require(actor, "lineage.revoke_datasetversion", attempted="dataset_version_revoke", obj=locked)
        if locked.state != DatasetVersionState.APPROVED:
            raise ActionDenied(
                f"{locked} is {locked.get_state_display().lower()}; only an approved version can be revoked.",
                actor=actor,
                attempted="dataset_version_revoke",
                obj=locked,
            )
        _revoke(locked, reason.strip())
        return locked


def dataset_version_retire(*, version: DatasetVersion, actor: AbstractBaseUser) -> DatasetVersion:
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = DatasetVersion.objects.select_for_update().get(pk=version.pk)
        require(actor, "lineage.revoke_datasetversion", attempted="dataset_version_retire", obj=locked)
        if locked.state not in (DatasetVersionState.APPROVED, DatasetVersionState.REVOKED):
            raise ActionDenied(
                f"{locked} is {locked.get_state_display().lower()}; only approved or revoked versions retire.",
                actor=actor,
                attempted="dataset_version_retire",
                obj=locked,
            )
        locked.retire()
        locked.save()
        return locked


def erasure_request_create(
    *,
    actor: AbstractBaseUser,
    kind: str,
    reference: str,
    source_systems: Iterable[SourceSystem],
    reason: str,
    period_start: datetime.date | None = None,
    period_end: datetime.date | None = None,
) -> ErasureRequest:
    sources = list(source_systems)
    if kind not in ErasureKind.values:
        raise ValidationError({"kind": f"Unknown kind {kind!r}."})
    if not sources:
        raise ValidationError({"source_systems": "Name the source systems that hold the data."})
    if period_start and period_end and period_start > period_end:
        raise ValidationError({"period_end": "The period ends before it starts."})
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        require(actor, "lineage.add_erasurerequest", attempted="erasure_request_create")
        request = ErasureRequest(
            kind=kind,
            reference=reference,
            reason=reason,
            period_start=period_start,
            period_end=period_end,
            requested_by=actor,
        )
        request.full_clean()
        request.save()
        request.source_systems.set(sources)
        return request


def erasure_request_process(*, request: ErasureRequest, actor: AbstractBaseUser) -> ErasureRequest:
    """Revoke every approved affected version, flag the rest, raise the retraining trigger of every use case
    concerned, decommission the sources if that is the request, and keep the impact report."""
    with denials_recorded(), transaction.atomic(), acting_as(actor):
        locked = ErasureRequest.objects.select_for_update().get(pk=request.pk)
        require(actor, "lineage.change_erasurerequest", attempted="erasure_request_process", obj=locked)
        if locked.state != ErasureState.OPEN:
            raise ActionDenied(
                "This request was processed already; its impact report stands.",
                actor=actor,
                attempted="erasure_request_process",
                obj=locked,
            )
        direct, derived = affected_versions(locked)
        versions = (
            DatasetVersion.objects.select_for_update(of=("self",))  # the versions change; their datasets do not
            .filter(pk__in=direct | derived)
            .select_related("dataset__use_case")
            .order_by("pk")
        )
        revoked, flagged, untouched = [], [], []
        use_cases = set()
        identifiers: dict[int, str] = {}
        for version in versions:
            identifiers[version.pk] = version.identifier
            if version.dataset.use_case_id:
                use_cases.add(version.dataset.use_case)
            if version.state == DatasetVersionState.APPROVED:
                _revoke(version, f"{locked.get_kind_display()} {locked.reference}")
                revoked.append(version.identifier)
            elif version.state in OUT_OF_USE:
                untouched.append(version.identifier)
            else:
                flagged.append(version.identifier)
        if locked.kind == ErasureKind.SOURCE_DECOMMISSIONING:
            for source in SourceSystem.objects.select_for_update().filter(pk__in=locked.source_systems.all()):
                if source.status != SourceStatus.DECOMMISSIONED:
                    source.status, source.decommissioned_at = SourceStatus.DECOMMISSIONED, timezone.now()
                    source.save()
        trigger = (
            RetrainingTrigger.DATA_SOURCE_CHANGE
            if locked.kind == ErasureKind.SOURCE_DECOMMISSIONING
            else RetrainingTrigger.ERASURE_REQUEST
        )
        for use_case in sorted(use_cases, key=lambda case: case.pk):
            retraining_trigger_event(use_case=use_case, trigger=trigger, detail=f"{locked.reference}")

        def names(ids: set[int]) -> list[str]:
            return sorted(identifiers[pk] for pk in ids)

        locked.impact_report = {
            "direct": names(direct),
            "derived": names(derived),
            "revoked": sorted(revoked),
            "flagged_in_progress": sorted(flagged),
            "already_out_of_use": sorted(untouched),
            "use_cases": sorted(case.slug for case in use_cases),
        }
        locked.state, locked.processed_at = ErasureState.PROCESSED, timezone.now()
        locked.save()
        return locked
