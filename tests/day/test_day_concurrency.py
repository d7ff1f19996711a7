"""Two people at once (PostgreSQL, real concurrent sessions): two delegations made at the same moment cannot form a
chain, an away person and their delegate signing one ticket at the same moment sign it once between them, and two
comments posted at the same moment are both kept, each with its own ledger entry."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.choices import Role
from accounts.demo import DEFAULT_DEMO_PASSWORD
from accounts.models import Comment, Delegation
from accounts.services.comments import comment_add
from accounts.services.delegations import delegation_create
from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from audit.models import LedgerEntry
from audit.signatures import signatures_for
from audit.verification import verify_chain
from registry.choices import Environment
from registry.services.promotion import change_ticket_approve
from tests import services
from tests.concurrency import run_at_once
from tests.conftest import give_role
from tests.delegating import away
from tests.registry.pages import staged

pytestmark = [services.postgres_race, pytest.mark.django_db(transaction=True)]


def test_two_reviewers_delegating_to_each_other_at_once_make_one_delegation(reviewer, stand_in) -> None:
    now = timezone.now()

    def delegate(delegator, delegate):
        return lambda: delegation_create(
            delegator=delegator,
            delegate=delegate,
            role="Legal Reviewer",
            starts=now,
            ends=now + timedelta(days=3),
            reason="Leave.",
            actor=delegator,
        )

    raced = run_at_once(delegate(reviewer, stand_in), delegate(stand_in, reviewer))

    assert sorted(outcome.refused(ValidationError) for outcome in raced) == [False, True]
    assert Delegation.objects.count() == 1


def test_two_comments_posted_at_once_are_both_kept_in_the_ledger(submitted, reviewer, engineer) -> None:
    raced = run_at_once(
        lambda: comment_add(target=submitted, author=reviewer, text="Which DPA covers this?"),
        lambda: comment_add(target=submitted, author=engineer, text="Added the retention note."),
    )

    assert all(outcome.error is None for outcome in raced)
    assert Comment.objects.count() == 2
    entries = LedgerEntry.objects.filter(action=LedgerAction.COMMENT, object_id=str(submitted.pk))
    assert entries.count() == 2
    assert verify_chain().ok


def test_an_away_person_and_their_delegate_signing_one_ticket_at_once_sign_it_once(world) -> None:
    risk, risk2 = world["risk"], world["risk2"]
    give_role(risk, Role.PRODUCT_OWNER)  # Rafael could sign a second function himself, were his first not signed
    ticket = world.ticket(staged(world), Environment.PROD)
    away(risk, risk2, role=Role.RISK_OFFICER)

    raced = run_at_once(
        lambda: change_ticket_approve(ticket=ticket, approver=risk, password=DEFAULT_DEMO_PASSWORD),
        lambda: change_ticket_approve(ticket=ticket, approver=risk2, password=DEFAULT_DEMO_PASSWORD),
        timeout=90,
    )

    assert sorted(outcome.refused(ActionDenied) for outcome in raced) == [False, True]
    [(signature, _valid)] = signatures_for(ticket)
    assert risk.pk in (signature.signer_id, signature.on_behalf_of_id)
    assert verify_chain().ok
