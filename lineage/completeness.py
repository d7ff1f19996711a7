"""Which provenance facts a regulator expects of a dataset version are recorded, and which are missing.

A dataset version may pass review and still leave gaps an auditor asks about later: a source without the period
drawn (so an erasure request cannot find whom it holds), a step without the digest of what it produced (so nobody can
show the training data is what the step made). Each expected fact is a named ``Fact`` with a stable key (the
organisation's required-facts setting names these keys), whether it is present, who should fill it and a link to the
record where it is filled. ``dataset_version_facts`` reads any number of versions in a fixed number of queries, so a
model version built from twenty datasets is checked as fast as one built from one.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.urls import reverse

from accounts.choices import Role
from lineage.choices import LegalBasis
from lineage.models import DatasetVersion, LineageSource, TransformationStep


@dataclass(frozen=True)
class FactKind:
    """One entry of the fact catalogue: a kind of fact expected of every record of its kind.

    ``key`` is stable: settings and exports name it, so it is never renamed; ``role`` is who is expected to fill it.
    """

    key: str
    label: str
    record: str
    role: Role


@dataclass(frozen=True)
class Fact:
    """One expected fact of one record: present or missing, who should fill it and where."""

    kind: FactKind
    subject: str
    present: bool
    owner: str = ""
    owner_id: int | None = None
    url: str = ""

    @property
    def key(self) -> str:
        return self.kind.key

    @property
    def label(self) -> str:
        return self.kind.label

    @property
    def role(self) -> str:
        return str(self.kind.role.label)

    def describe(self) -> str:
        """The fact in one line, as checklists, gates and packs name a missing one."""
        who = f"{self.role}, {self.owner}" if self.owner else self.role
        return f"{self.subject}: {self.label} ({who})"


@dataclass(frozen=True)
class Completeness:
    """The expected facts of one record and everything it was built from, with its score."""

    record: str
    facts: tuple[Fact, ...]

    @property
    def total(self) -> int:
        return len(self.facts)

    @property
    def present(self) -> int:
        return sum(fact.present for fact in self.facts)

    @property
    def missing(self) -> list[Fact]:
        return [fact for fact in self.facts if not fact.present]

    @property
    def score(self) -> int:
        """Percent of the expected facts present, rounded down (100 only when nothing is missing)."""
        return 100 * self.present // self.total if self.total else 100

    def summary(self) -> str:
        return f"{self.present} of {self.total} facts ({self.score}%)"

    def missing_of(self, keys: Iterable[str] | None) -> list[Fact]:
        """The missing facts whose key is in ``keys`` (None: every missing fact)."""
        if keys is None:
            return self.missing
        wanted = set(keys)
        return [fact for fact in self.missing if fact.key in wanted]


_DATA = "dataset version"
SOURCES_RECORDED = FactKind("dataset_version.sources", "at least one source system recorded", _DATA, Role.DATA_STEWARD)
SOURCE_LEGAL_BASIS = FactKind("source.legal_basis", "legal basis", "source", Role.DATA_STEWARD)
SOURCE_RETENTION = FactKind("source.retention", "retention period", "source", Role.DATA_STEWARD)
SOURCE_CONSENT_SCOPE = FactKind(
    "source.consent_scope", "consent scope (legal basis: consent)", "source", Role.DATA_STEWARD
)
SOURCE_PERIOD = FactKind("source.period", "period the data was drawn from", "source", Role.DATA_STEWARD)
STEP_TOOL = FactKind("step.tool", "tool", "transformation step", Role.ML_ENGINEER)
STEP_CODE_VERSION = FactKind("step.code_version", "code version", "transformation step", Role.ML_ENGINEER)
STEP_OUTPUT_DIGEST = FactKind("step.output_digest", "output digest", "transformation step", Role.ML_ENGINEER)

#: The lineage side of the fact catalogue, in the order checklists show it.
LINEAGE_FACTS: tuple[FactKind, ...] = (
    SOURCES_RECORDED,
    SOURCE_LEGAL_BASIS,
    SOURCE_RETENTION,
    SOURCE_CONSENT_SCOPE,
    SOURCE_PERIOD,
    STEP_TOOL,
    STEP_CODE_VERSION,
    STEP_OUTPUT_DIGEST,
)


def owner_of(user: object) -> tuple[str, int | None]:
    """How a fact names the person who should fill it: full name, else username (and their id)."""
    return (user.get_full_name() or user.get_username(), user.pk) if user is not None else ("", None)


def dataset_version_facts(version_ids: Iterable[int]) -> dict[int, list[Fact]]:
    """Dataset version id -> its expected facts, for the versions asked for. Three queries, however many versions.

    A version without lineage has one fact, its sources, missing; consent scope is expected only of a source whose
    legal basis is consent (elsewhere it does not apply, and a fact that does not apply is not listed)."""
    ids = sorted(set(version_ids))
    versions = {
        version.pk: version
        for version in DatasetVersion.objects.filter(pk__in=ids).select_related(
            "dataset", "created_by", "lineage", "dataset__steward"
        )
    }
    sources: dict[int, list[LineageSource]] = defaultdict(list)
    for source in (
        LineageSource.objects.filter(record__version_id__in=ids)
        .select_related("source_system", "record")
        .order_by("record_id", "pk")
    ):
        sources[source.record.version_id].append(source)
    steps: dict[int, list[TransformationStep]] = defaultdict(list)
    for step in (
        TransformationStep.objects.filter(record__version_id__in=ids)
        .select_related("record")
        .order_by("record_id", "position")
    ):
        steps[step.record.version_id].append(step)
    facts: dict[int, list[Fact]] = {}
    for pk in ids:
        version = versions.get(pk)
        if version is None:
            continue
        url = reverse("admin:lineage_datasetversion_change", args=[pk])
        steward, steward_id = owner_of(version.dataset.steward)
        author, author_id = owner_of(version.created_by)
        record = getattr(version, "lineage", None)
        found = [Fact(SOURCES_RECORDED, str(version), bool(sources[pk]), steward, steward_id, url)]
        for source in sources[pk]:
            subject = f"{version} / {source.source_system.name}"
            found += [
                Fact(SOURCE_LEGAL_BASIS, subject, bool(source.legal_basis), steward, steward_id, url),
                Fact(
                    SOURCE_RETENTION,
                    subject,
                    record is not None and record.retention_days is not None,
                    steward,
                    steward_id,
                    url,
                ),
            ]
            if source.legal_basis == LegalBasis.CONSENT:
                scope = record is not None and bool(record.consent_scope.strip())
                found.append(Fact(SOURCE_CONSENT_SCOPE, subject, scope, steward, steward_id, url))
            period = source.period_start is not None and source.period_end is not None
            found.append(Fact(SOURCE_PERIOD, subject, period, steward, steward_id, url))
        for step in steps[pk]:
            subject = f"{version} / step {step.position} ({step.get_kind_display()})"
            found += [
                Fact(STEP_TOOL, subject, bool(step.tool.strip()), author, author_id, url),
                Fact(STEP_CODE_VERSION, subject, bool(step.code_version.strip()), author, author_id, url),
                Fact(STEP_OUTPUT_DIGEST, subject, bool(step.output_digest), author, author_id, url),
            ]
        facts[pk] = found
    return facts


def dataset_version_completeness(version: DatasetVersion) -> Completeness:
    """The completeness of one dataset version's lineage (its page's checklist)."""
    return Completeness(record=str(version), facts=tuple(dataset_version_facts([version.pk]).get(version.pk, [])))
