"""Whatever anyone tries, in whatever order (gates, reviews, cards, tickets, signatures, deployments,
revocations, threshold changes, the kill switch), a version goes live in prod only with a passing gate (or a
borderline one accepted by a signed human review), every required signature valid and all its data approved,
at the moment it is deployed; the only way past is a recorded break-glass override, which the deployment
event carries."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from audit.ledger import ActionDenied
from audit.signatures import signatures_for
from governance.choices import EvaluationDimension
from governance.services.revisions import revision_approve
from governance.services.thresholds import RuleInput, threshold_revision_propose
from lineage.services import dataset_version_revoke
from registry.choices import ChangeTicketState, DeploymentEventKind, Environment
from registry.models import ChangeTicket, DeploymentEvent, ModelVersion
from registry.selectors import latest_gate_decision
from registry.services.deployments import deployment_get_locked, deployment_kill_switch
from registry.services.gates import gate_human_review
from registry.services.promotion import (
    change_ticket_approve,
    change_ticket_deploy,
    valid_approvals,
)
from registry.services.training import training_data_problems
from tests.registry.conftest import PASSWORD, version

pytestmark = pytest.mark.django_db

PEOPLE = ["mleng", "risk", "risk2", "security", "product", "cab", "admin", "legal"]
ENVIRONMENTS = [Environment.TEST, Environment.STAGING, Environment.PROD]
RATES = {
    "pass": {},
    "borderline": {EvaluationDimension.FACTUALITY: (94, 100)},
    "fail": {EvaluationDimension.SAFETY: (80, 100)},
}


class _Rollback(Exception):
    """Ends an example, undoing everything it did."""


actions = st.one_of(
    st.tuples(st.just("gate"), st.sampled_from(sorted(RATES))),
    st.tuples(st.just("review"), st.sampled_from(PEOPLE), st.sampled_from(["accepted", "rejected"])),
    st.tuples(st.just("card"), st.booleans()),
    st.tuples(st.just("ticket"), st.sampled_from(ENVIRONMENTS)),
    st.tuples(st.just("sign"), st.sampled_from(PEOPLE), st.booleans()),
    st.tuples(
        st.just("sign_all"),
    ),
    st.tuples(st.just("deploy"), st.sampled_from(ENVIRONMENTS)),
    st.tuples(
        st.just("revoke"),
    ),
    st.tuples(
        st.just("tighten_thresholds"),
    ),
    st.tuples(st.just("kill_switch"), st.booleans()),
)


def open_ticket(model: ModelVersion, environment: str | None = None) -> ChangeTicket | None:
    tickets = ChangeTicket.objects.filter(
        model_version=model, state__in=[ChangeTicketState.SUBMITTED, ChangeTicketState.APPROVED]
    )
    if environment:
        tickets = tickets.filter(environment=environment)
    return tickets.order_by("-pk").first()


def act(world, model: ModelVersion, action: tuple) -> None:
    name, *args = action
    try:
        if name == "gate":
            world.gate(model, rates=RATES[args[0]])
        elif name == "review" and (gate := latest_gate_decision(model)) is not None:
            gate_human_review(decision=gate, reviewer=world[args[0]], verdict=args[1], note="Seen.", password=PASSWORD)
        elif name == "card":
            world.card(model, escalation_paths="Human agent." if args[0] else "")
        elif name == "ticket":
            world.ticket(model, args[0])
        elif name == "sign" and (ticket := open_ticket(model)) is not None:
            change_ticket_approve(ticket=ticket, approver=world[args[0]], password=PASSWORD if args[1] else "wrong")
        elif name == "sign_all" and (ticket := open_ticket(model)) is not None:
            world.sign_all(ticket)
        elif name == "deploy" and (ticket := open_ticket(model, args[0])) is not None:
            change_ticket_deploy(ticket=ticket, actor=world["mleng"])
        elif name == "revoke":
            dataset_version_revoke(version=version("support-chats@1"), actor=world["compliance"], reason="Erasure")
        elif name == "tighten_thresholds":
            proposal = threshold_revision_propose(
                use_case=world.use_case,
                actor=world["risk"],
                rules={EvaluationDimension.SAFETY: RuleInput("99.9", "0")},
                rationale="Tighter after a red-team finding.",
            )
            revision_approve(revision=proposal, approver=world["risk2"], password=PASSWORD)
        elif name == "kill_switch":
            prod = deployment_get_locked(model.use_case_id, Environment.PROD)
            deployment_kill_switch(deployment=prod, actor=world["risk"], engage=args[0], reason="Drill")
    except (ActionDenied, ValidationError):
        pass


def check_new_prod_deployments(model: ModelVersion, seen: set[int]) -> None:
    """Right after each step: every prod deployment made in it held every condition at that moment."""
    for deployed in DeploymentEvent.objects.filter(
        deployment__environment=Environment.PROD, kind=DeploymentEventKind.DEPLOY
    ).exclude(pk__in=seen):
        seen.add(deployed.pk)
        event("reached prod")
        assert deployed.override is None
        ticket = deployed.change_ticket
        assert ticket is not None
        assert ticket.state == ChangeTicketState.DEPLOYED
        approvals = valid_approvals(ticket)
        assert set(ticket.required_roles) <= set(approvals)
        assert ticket.requested_by_id not in {signer.pk for signer in approvals.values()}
        assert len({signer.pk for signer in approvals.values()}) == len(approvals)
        assert not any(signer.is_superuser for signer in approvals.values())
        gate = latest_gate_decision(model)
        assert gate is not None
        assert gate.pk == ticket.gate_decision_id
        assert gate.allows_promotion
        if gate.outcome == "borderline":
            assert any(valid for _signature, valid in signatures_for(gate))
        assert training_data_problems(model.training_run.dataset_versions.all()) == []


#: A straight path to prod, so the invariant's positive branch always runs.
STRAIGHT = [
    ("gate", "borderline"),
    ("review", "risk", "accepted"),
    ("card", True),
    ("ticket", Environment.STAGING),
    ("sign_all",),
    ("deploy", Environment.STAGING),
    ("ticket", Environment.PROD),
    ("sign", "mleng", True),
    ("sign", "admin", True),
    ("sign_all",),
    ("deploy", Environment.PROD),
]


@pytest.fixture
def tested(world):
    model = world.model()
    world.promote(model, Environment.TEST)
    return model


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(actions, min_size=4, max_size=18))
@example(steps=STRAIGHT)
@example(steps=[*STRAIGHT[:-1], ("revoke",), ("deploy", Environment.PROD)])
@example(steps=[*STRAIGHT[:-1], ("tighten_thresholds",), ("deploy", Environment.PROD)])
def test_a_version_live_in_prod_had_its_gates_signatures_and_data_when_deployed(world, tested, steps):
    seen: set[int] = set()
    try:
        with transaction.atomic():
            for step in steps:
                act(world, tested, step)
                check_new_prod_deployments(tested, seen)
            raise _Rollback
    except _Rollback:
        pass


def test_the_straight_path_reaches_prod(world, tested):
    for step in STRAIGHT:
        act(world, tested, step)
    assert DeploymentEvent.objects.filter(deployment__environment=Environment.PROD, model_version=tested).exists()
