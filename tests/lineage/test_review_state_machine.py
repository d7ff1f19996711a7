"""Whatever anyone tries, in whatever order (approve, request changes, reject, assign, resubmit), a version is
approved only with three valid stage signatures by three different people, each holding the stage's role,
none of them its author or submitter, all given after its latest submission."""

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from guardian.shortcuts import assign_perm
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from accounts.choices import Role
from audit.ledger import ActionDenied
from audit.signatures import signatures_for
from lineage.choices import STAGES, DatasetVersionState
from lineage.models import DatasetVersion
from lineage.selectors import approved_for_training, assigned_reviewers, stage_of
from lineage.services import (
    dataset_create,
    dataset_version_assign_reviewer,
    dataset_version_reject,
    dataset_version_request_changes,
    dataset_version_review_approve,
    dataset_version_submit,
)
from tests.conftest import give_role
from tests.governance.conftest import PASSWORD
from tests.lineage.conftest import register_source, sourced_version

pytestmark = pytest.mark.django_db

#: username -> roles; "admin" is a superuser with none.
POOL = {
    "legal-1": [Role.LEGAL_REVIEWER],
    "legal-2": [Role.LEGAL_REVIEWER],
    "security-1": [Role.SECURITY_REVIEWER],
    "security-2": [Role.SECURITY_REVIEWER],
    "compliance-1": [Role.COMPLIANCE_REVIEWER],
    "compliance-2": [Role.COMPLIANCE_REVIEWER],
    "legal-and-security": [Role.LEGAL_REVIEWER, Role.SECURITY_REVIEWER],
    "engineer": [Role.ML_ENGINEER],
    "steward": [Role.DATA_STEWARD],
    "admin": [],
}
PEOPLE = sorted(POOL)


class _Rollback(Exception):
    """Ends an example, undoing everything it did."""


@dataclass
class World:
    people: dict
    version: DatasetVersion

    def current(self) -> DatasetVersion:
        return DatasetVersion.objects.get(pk=self.version.pk)


def build_world() -> World:
    people = {}
    for username in PEOPLE:  # roles first: permissions are cached on the user at the first check
        if username == "admin":
            user = get_user_model().objects.create_superuser(username=username, password=PASSWORD)
        else:
            user = get_user_model().objects.create_user(username=username, password=PASSWORD, is_staff=True)
        for role in POOL[username]:
            give_role(user, role)
        people[username] = get_user_model().objects.get(pk=user.pk)
    steward, engineer = people["steward"], people["engineer"]
    dataset = dataset_create(actor=steward, slug="support-chats", name="Support chats", steward=steward)
    version = sourced_version(dataset, engineer, register_source(steward))
    return World(people, dataset_version_submit(version=version, actor=engineer))


person = st.sampled_from(PEOPLE)
approve_as_assigned = st.tuples(st.just("approve_as_assigned"), st.booleans())
actions = st.one_of(
    approve_as_assigned,  # the likeliest step, so that examples get through the stages
    approve_as_assigned,
    approve_as_assigned,
    approve_as_assigned,
    st.tuples(st.just("approve"), person, st.booleans()),
    st.tuples(st.just("request_changes"), person),
    st.tuples(st.just("request_changes_as_assigned")),
    st.tuples(st.just("reject"), person),
    st.tuples(st.just("assign"), person, person),
    st.tuples(st.just("grant_directly"), person),
    st.tuples(st.just("resubmit"), st.sampled_from(["engineer", "steward"])),
)


def act(world: World, action: tuple) -> None:
    name, *args = action
    version = world.current()
    stage = stage_of(version)
    people = world.people
    try:
        if name == "approve_as_assigned":
            (right_password,) = args
            for reviewer in sorted(assigned_reviewers(version, stage) if stage else [], key=str):
                try:  # every assigned person tries; the first eligible one signs
                    password = PASSWORD if right_password else "wrong"
                    dataset_version_review_approve(version=version, reviewer=reviewer, password=password)
                    break
                except ActionDenied:
                    continue
        elif name == "request_changes_as_assigned":
            for reviewer in sorted(assigned_reviewers(version, stage) if stage else [], key=str):
                try:
                    dataset_version_request_changes(version=version, reviewer=reviewer, reason="Encrypt it.")
                    break
                except ActionDenied:
                    continue
        elif name == "approve":
            who, right_password = args
            password = PASSWORD if right_password else "wrong"
            dataset_version_review_approve(version=version, reviewer=people[who], password=password)
        elif name == "request_changes":
            dataset_version_request_changes(version=version, reviewer=people[args[0]], reason="Fix the retention.")
        elif name == "reject":
            dataset_version_reject(version=version, reviewer=people[args[0]], reason="No legal basis.")
        elif name == "assign":
            actor, reviewer = args
            dataset_version_assign_reviewer(version=version, reviewer=people[reviewer], actor=people[actor])
        elif name == "grant_directly" and stage is not None:
            # Around the services, straight into guardian's table: eligibility must still be checked at signing.
            assign_perm(f"lineage.{stage.permission}", people[args[0]], version)
        elif name == "resubmit":
            dataset_version_submit(version=version, actor=people[args[0]])
    except (ActionDenied, ValidationError):
        pass


def check_invariant(world: World) -> None:
    version = world.current()
    valid = [s for s, ok in signatures_for(version) if ok and s.meaning in {stage.meaning for stage in STAGES}]
    group_of = {stage.meaning: stage.role.value for stage in STAGES}
    meanings_by_signer: dict[int, set[str]] = {}
    for signature in valid:
        meanings_by_signer.setdefault(signature.signer_id, set()).add(signature.meaning)
        assert group_of[signature.meaning] in set(signature.signer.groups.values_list("name", flat=True))
        assert signature.signer_id not in (version.created_by_id, version.submitted_by_id)
        assert not signature.signer.is_superuser
    assert all(len(meanings) == 1 for meanings in meanings_by_signer.values()), "one person signed two stages"

    if version.state != DatasetVersionState.APPROVED:
        assert approved_for_training(version)[0] is False
        return
    latest = [s for s in valid if s.signed_at >= version.submitted_at]
    by_meaning = {s.meaning: s.signer_id for s in latest}
    assert set(by_meaning) == {stage.meaning for stage in STAGES}
    assert len(set(by_meaning.values())) == len(STAGES)
    assert approved_for_training(version) == (True, [])


#: Around the services, through a revision, past a two-roles person: still three eligible signers.
SCRIPTED = [
    ("grant_directly", "admin"),
    ("approve", "admin", True),
    ("approve_as_assigned", True),
    ("request_changes_as_assigned",),
    ("resubmit", "steward"),
    ("assign", "steward", "legal-and-security"),
    ("approve_as_assigned", True),
    ("grant_directly", "legal-and-security"),
    ("approve", "legal-and-security", True),
    ("approve_as_assigned", False),
    ("approve_as_assigned", True),
    ("approve_as_assigned", True),
]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(actions, min_size=5, max_size=25))
@example(steps=SCRIPTED)
def test_approval_always_means_three_eligible_signers(role_groups, steps) -> None:
    try:
        with transaction.atomic():
            world = build_world()
            check_invariant(world)
            for step in steps:
                act(world, step)
                check_invariant(world)
            event(f"ended {world.current().state}")
            raise _Rollback
    except _Rollback:
        pass


def test_the_scripted_path_ends_approved(role_groups) -> None:
    """The approved branch of the invariant is exercised whatever Hypothesis generates."""
    with transaction.atomic():
        world = build_world()
        for step in SCRIPTED:
            act(world, step)
            check_invariant(world)
        version = world.current()
        assert (version.state, version.revision) == (DatasetVersionState.APPROVED, 2)
        signed = {(s.meaning, s.signer.get_username()) for s, ok in signatures_for(version) if ok}
        assert ("Approved as Legal reviewer", "legal-and-security") in signed  # the second revision's
        assert ("Approved as Legal reviewer", "legal-1") in signed  # the first's, on the same content
        assert not any(
            meaning != "Approved as Legal reviewer" for meaning, who in signed if who == "legal-and-security"
        )
