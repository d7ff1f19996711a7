"""The landing page's "Provenance gaps in my records": every missing provenance fact the signed-in person is the one
to fill, grouped by record (dataset versions they created or steward, runs and versions they registered, the model
cards of the use cases they own), and for Risk Officers the required-facts revisions awaiting their decision.
Registered as work queues in ``RegistryConfig.ready``."""

from collections.abc import Iterator

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q

from accounts.choices import Role
from governance.queues import pending_revisions_of
from governance.worklist import WorkItem, WorkQueue, register_queue
from lineage.choices import DatasetVersionState
from lineage.completeness import Fact, dataset_version_facts
from lineage.models import DatasetVersion
from registry.completeness import model_versions_own_facts, training_runs_gaps
from registry.models import ModelVersion, ProvenanceRequirement, TrainingRun

#: Records of each kind looked at, newest first: a landing page shows the latest gaps, not an archive.
RECENT = 50
OWNERS = frozenset({Role.ML_ENGINEER, Role.DATA_STEWARD, Role.PRODUCT_OWNER})
FINISHED_DATA = (DatasetVersionState.REJECTED, DatasetVersionState.RETIRED)


def _grouped(facts: list[Fact], user: AbstractBaseUser) -> Iterator[WorkItem]:
    """One item per record holding facts the user should fill, naming how many and which."""
    mine: dict[tuple[str, str], list[Fact]] = {}
    for fact in facts:
        if not fact.present and fact.owner_id == user.pk:
            record = fact.subject.split(" / ", 1)[0]
            mine.setdefault((record, fact.url), []).append(fact)
    for (record, url), missing in mine.items():
        labels = sorted({fact.label for fact in missing})
        yield WorkItem(label=f"{record}: {len(missing)} missing ({', '.join(labels)})", url=url)


def provenance_gaps_of(user: AbstractBaseUser) -> Iterator[WorkItem]:
    data = (
        DatasetVersion.objects.filter(Q(created_by=user) | Q(dataset__steward=user))
        .exclude(state__in=FINISHED_DATA)
        .order_by("-created_at")
        .values_list("pk", flat=True)[:RECENT]
    )
    facts = [fact for found in dataset_version_facts(list(data)).values() for fact in found]
    runs = TrainingRun.objects.filter(registered_by=user).select_related("registered_by").order_by("-started_at")
    facts += [fact for found in training_runs_gaps(runs[:RECENT]).values() for fact in found]
    versions = ModelVersion.objects.filter(Q(registered_by=user) | Q(use_case__owner=user)).order_by("-registered_at")
    facts += [fact for found in model_versions_own_facts(versions[:RECENT]).values() for fact in found]
    yield from _grouped(facts, user)


def _requirements_to_decide(user: AbstractBaseUser) -> Iterator[WorkItem]:
    """Pending revisions of the required facts that someone else proposed."""
    return pending_revisions_of(user, (ProvenanceRequirement,))


def register() -> None:
    register_queue(
        WorkQueue(
            key="registry.provenance_requirements",
            title="Required provenance facts awaiting your decision",
            roles=frozenset({Role.RISK_OFFICER}),
            items=_requirements_to_decide,
        )
    )
    register_queue(
        WorkQueue(
            key="registry.provenance_gaps",
            title="Provenance gaps in my records",
            roles=OWNERS,
            items=provenance_gaps_of,
        )
    )
