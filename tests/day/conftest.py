"""People and a submitted dataset version for the reviewer's-day tests: an engineer who submits, a Legal reviewer
assigned by rotation, and a second Legal reviewer who may stand in for the first."""

import pytest

from accounts.choices import Role
from lineage.models import DatasetVersion
from lineage.selectors import assigned_reviewers, stage_of
from lineage.services import dataset_version_submit
from tests.lineage.conftest import crm, engineer, sourced_version, steward, support_chats  # noqa: F401
from tests.registry.conftest import world  # noqa: F401


@pytest.fixture
def reviewer(user_in_role):
    person = user_in_role(Role.LEGAL_REVIEWER, username="lena")
    person.first_name, person.last_name, person.email = "Lena", "Legal", "lena@example.com"
    person.save()
    return person


@pytest.fixture
def stand_in(user_in_role):
    person = user_in_role(Role.LEGAL_REVIEWER, username="luis")
    person.first_name, person.last_name, person.email = "Luis", "Standin", "luis@example.com"
    person.save()
    return person


@pytest.fixture
def submitted(reviewer, engineer, crm, support_chats) -> DatasetVersion:  # noqa: F811
    """Submitted with only ``reviewer`` in the Legal role, so the rotation assigns them."""
    version = dataset_version_submit(version=sourced_version(support_chats, engineer, crm), actor=engineer)
    assert assigned_reviewers(version, stage_of(version)) == [reviewer]
    return version
