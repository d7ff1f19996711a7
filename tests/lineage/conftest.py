"""People and records the lineage tests share, all made through the services as the portal makes them: a Data
Steward who registers source systems and datasets, an ML Engineer who authors versions and their lineage, and a
Legal Reviewer who may only look."""

import hashlib
import itertools

import pytest

from accounts.choices import Role
from audit.models import LedgerEntry
from lineage.choices import LegalBasis
from lineage.models import Dataset, DatasetVersion, SourceSystem
from lineage.services import dataset_create, dataset_version_create, lineage_source_add, source_system_create

_digests = itertools.count(1)


def digest(seed: object = None) -> str:
    """A well-formed content digest (64 lowercase hex digits), fresh on every call unless ``seed`` is given."""
    return hashlib.sha256(str(next(_digests) if seed is None else seed).encode()).hexdigest()


def ledger_of(obj) -> list[LedgerEntry]:
    return list(
        LedgerEntry.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk)).order_by("sequence")
    )


def new_version(dataset: Dataset, actor, **fields) -> DatasetVersion:
    """A draft version with plausible facts; ``fields`` override them or fill the lineage record."""
    values = {
        "content_digest": digest(),
        "row_count": 12_000,
        "size_bytes": 4_800_000,
        "storage_uri": f"s3://training-data/{dataset.slug}/extract.parquet",
        "retention_days": 365,
        **fields,
    }
    return dataset_version_create(dataset=dataset, actor=actor, **values)


def register_source(actor, name: str = "CRM", **fields) -> SourceSystem:
    values = {
        "kind": "CRM",
        "owner": actor,
        "default_retention_days": 730,
        "data_categories": ["contact", "identifiers"],
        **fields,
    }
    return source_system_create(actor=actor, name=name, **values)


def sourced_version(dataset: Dataset, actor, source: SourceSystem, **fields) -> DatasetVersion:
    """A draft that names one source under contract: it passes every submission check."""
    version = new_version(dataset, actor, **fields)
    lineage_source_add(version=version, actor=actor, source_system=source, legal_basis=LegalBasis.CONTRACT)
    return version


@pytest.fixture
def steward(user_in_role):
    return user_in_role(Role.DATA_STEWARD, username="steward")


@pytest.fixture
def engineer(user_in_role):
    return user_in_role(Role.ML_ENGINEER, username="ml")


@pytest.fixture
def crm(steward) -> SourceSystem:
    return register_source(steward)


@pytest.fixture
def support_chats(steward) -> Dataset:
    return dataset_create(actor=steward, slug="support-chats", name="Support chats", steward=steward)


@pytest.fixture
def redacted_chats(steward) -> Dataset:
    return dataset_create(actor=steward, slug="support-chats-redacted", name="Support chats, redacted", steward=steward)
