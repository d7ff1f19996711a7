"""Two people acting on one change ticket at once (PostgreSQL, real concurrent sessions)."""

import pytest
from django.contrib.auth import get_user_model

from accounts.choices import Role
from accounts.demo import DEFAULT_DEMO_PASSWORD
from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from registry.choices import ChangeTicketState, Environment
from registry.models import ChangeTicket
from registry.services.promotion import change_ticket_approve, valid_approvals
from tests import services
from tests.concurrency import run_at_once
from tests.conftest import give_role
from tests.registry.conftest import ledger_of

pytestmark = [services.postgres_race, pytest.mark.django_db(transaction=True)]


def _race(*actions) -> list[str]:
    return sorted(
        "refused" if outcome.refused(ActionDenied) else "signed" for outcome in run_at_once(*actions, timeout=90)
    )


@pytest.fixture
def test_ticket(world) -> ChangeTicket:
    model = world.model()
    world.promote(model, Environment.DEV)
    return world.ticket(model, Environment.TEST)  # needs one signature: the Change Advisory Board's


def test_two_board_members_signing_at_once_sign_once(test_ticket):
    second = get_user_model().objects.create_user(username="cab2", password=DEFAULT_DEMO_PASSWORD, is_staff=True)
    give_role(second, Role.CHANGE_ADVISORY_BOARD)
    first = get_user_model().objects.get(username="cab")

    outcomes = _race(
        lambda: change_ticket_approve(ticket=test_ticket, approver=first, password=DEFAULT_DEMO_PASSWORD),
        lambda: change_ticket_approve(ticket=test_ticket, approver=second, password=DEFAULT_DEMO_PASSWORD),
    )

    assert outcomes == ["refused", "signed"]
    ticket = ChangeTicket.objects.get(pk=test_ticket.pk)
    assert ticket.state == ChangeTicketState.APPROVED
    assert len(valid_approvals(ticket)) == 1
    assert sum(entry.action == LedgerAction.SIGN for entry in ledger_of(ticket)) == 1


def test_the_same_approver_double_clicking_signs_once(test_ticket):
    cab = get_user_model().objects.get(username="cab")
    outcomes = _race(
        *[lambda: change_ticket_approve(ticket=test_ticket, approver=cab, password=DEFAULT_DEMO_PASSWORD)] * 2
    )
    assert outcomes == ["refused", "signed"]
    assert (
        sum(entry.action == LedgerAction.SIGN for entry in ledger_of(ChangeTicket.objects.get(pk=test_ticket.pk))) == 1
    )
