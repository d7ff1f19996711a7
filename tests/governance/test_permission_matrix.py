"""Who may do what in the governance domain: every role against every governed action, through the services."""

import datetime
from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model

from accounts.authz import holds_approval_permission
from accounts.choices import Role
from accounts.roles import role_permissions
from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from audit.models import LedgerEntry
from governance.choices import RetrainingSchedule, RetrainingTrigger
from governance.models import Policy, UseCase
from governance.services.policies import policy_save
from governance.services.raci import raci_revision_propose
from governance.services.requirements import requirements_create
from governance.services.retraining import retraining_cadence_set
from governance.services.revisions import revision_approve
from governance.services.thresholds import PLAYBOOK_DEFAULTS, RuleInput, threshold_revision_propose
from governance.services.usecases import use_case_create
from tests.governance.conftest import PASSWORD
from tests.governance.test_raci import valid_grid
from tests.governance.test_usecases import make_use_case, use_case_fields

pytestmark = pytest.mark.django_db


def propose_raci(world: dict, actor) -> object:
    return raci_revision_propose(use_case=world["use_case"], actor=actor, grid=valid_grid(), rationale="Initial.")


def approve_raci(world: dict, actor) -> object:
    pending = raci_revision_propose(
        use_case=world["use_case"], actor=world["proposer"], grid=valid_grid(), rationale="Initial."
    )
    return revision_approve(revision=pending, approver=actor, password=PASSWORD)


def propose_thresholds(world: dict, actor) -> object:
    rules = {dimension: RuleInput(*values) for dimension, values in PLAYBOOK_DEFAULTS.items()}
    return threshold_revision_propose(use_case=world["use_case"], actor=actor, rules=rules, rationale="Playbook.")


def create_use_case(world: dict, actor) -> object:
    return use_case_create(actor=actor, slug="collections-assistant", **use_case_fields(actor, name="Collections"))


def draft_requirements(world: dict, actor) -> object:
    return requirements_create(use_case=world["use_case"], actor=actor, title="Requirements", business_goals="Goals.")


def edit_policy(world: dict, actor) -> object:
    return policy_save(actor=actor, policy=world["policy"], controls=[], version="1.1")


def set_cadence(world: dict, actor) -> object:
    return retraining_cadence_set(
        use_case=world["use_case"],
        actor=actor,
        schedule=RetrainingSchedule.QUARTERLY,
        triggers=[RetrainingTrigger.INCIDENT],
    )


#: action -> (service call, the permission a role needs, who is allowed, what a refusal records as attempted).
ACTIONS: dict[str, tuple[Callable, str, frozenset[Role], str]] = {
    "propose RACI": (
        propose_raci,
        "governance.add_racimatrix",
        frozenset({Role.RISK_OFFICER}),
        "raci_revision_propose",
    ),
    "approve RACI": (
        approve_raci,
        "governance.approve_racimatrix",
        frozenset({Role.RISK_OFFICER, Role.COMPLIANCE_REVIEWER}),
        "approve RACI matrix",
    ),
    "propose thresholds": (
        propose_thresholds,
        "governance.add_thresholdpolicy",
        frozenset({Role.RISK_OFFICER}),
        "threshold_revision_propose",
    ),
    "create use case": (
        create_use_case,
        "governance.add_usecase",
        frozenset({Role.PRODUCT_OWNER}),
        "use_case_create",
    ),
    "draft requirements": (
        draft_requirements,
        "governance.add_requirementsdocument",
        frozenset({Role.ML_ENGINEER, Role.PRODUCT_OWNER}),
        "requirements_create",
    ),
    "edit policy": (
        edit_policy,
        "governance.change_policy",
        frozenset({Role.COMPLIANCE_REVIEWER}),
        "policy_update",
    ),
    "set cadence": (
        set_cadence,
        "governance.change_retrainingcadence",
        frozenset({Role.RISK_OFFICER}),
        "retraining_cadence_set",
    ),
}

CASES = [
    pytest.param(
        role, action, role in allowed, id=f"{role.value}-{action}-{'allowed' if role in allowed else 'denied'}"
    )
    for action, (_call, _permission, allowed, _attempted) in ACTIONS.items()
    for role in Role
]


@pytest.fixture
def world(user_in_role) -> dict:
    """A use case, a policy and a Risk Officer to propose a RACI, all of them people other than the actor."""
    owner = user_in_role(Role.PRODUCT_OWNER, username="owner")
    policy_owner = user_in_role(Role.COMPLIANCE_REVIEWER, username="policy-owner")
    return {
        "use_case": make_use_case(owner),
        "proposer": user_in_role(Role.RISK_OFFICER, username="proposer"),
        "policy": policy_save(
            actor=policy_owner,
            controls=[],
            code="CC-17",
            title="Customer communications",
            text="Card data is never shown.",
            owner=policy_owner,
            effective_date=datetime.date(2025, 1, 1),
        ),
    }


@pytest.mark.parametrize("action", ACTIONS)
def test_the_expected_roles_are_the_ones_roles_py_grants(action: str) -> None:
    _call, permission, allowed, _attempted = ACTIONS[action]
    app_label, codename = permission.split(".")
    action_name, model = codename.split("_", 1)

    granted = {
        role for role, grants in role_permissions().items() if action_name in grants.get(f"{app_label}.{model}", ())
    }

    assert granted == allowed


@pytest.mark.parametrize(("role", "action", "allowed"), CASES)
def test_role_against_action(user_in_role, world: dict, role: Role, action: str, allowed: bool) -> None:
    call, permission, _allowed_roles, attempted = ACTIONS[action]
    actor = user_in_role(role, username="actor")
    denials_before = LedgerEntry.objects.filter(action=LedgerAction.DENIED).count()

    if allowed:
        assert holds_approval_permission(actor, permission)
        result = call(world, actor)
        assert (
            LedgerEntry.objects.filter(object_type=result._meta.label_lower, object_id=str(result.pk), actor=actor)
            .exclude(action=LedgerAction.DENIED)
            .exists()
        )
        assert LedgerEntry.objects.filter(action=LedgerAction.DENIED).count() == denials_before
    else:
        assert not holds_approval_permission(actor, permission)
        with pytest.raises(ActionDenied):
            call(world, actor)
        denial = LedgerEntry.objects.filter(action=LedgerAction.DENIED).order_by("-sequence").first()
        assert (denial.actor, denial.payload["attempted"]) == (actor, attempted)


def test_an_administrator_without_a_role_may_do_none_of_it(world: dict) -> None:
    administrator = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)

    for action, (call, _permission, _allowed, attempted) in ACTIONS.items():
        with pytest.raises(ActionDenied):
            call(world, administrator)
        denial = LedgerEntry.objects.order_by("-sequence").first()
        assert (denial.action, denial.actor, denial.payload["attempted"]) == (
            LedgerAction.DENIED,
            administrator,
            attempted,
        ), action

    assert UseCase.objects.count() == 1
    assert Policy.objects.get().version == "1.0"
