"""Two people at once (PostgreSQL, real concurrent sessions): two delegations made at the same moment cannot form a
chain, and two comments posted at the same moment are both kept, each with its own ledger entry."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Comment, Delegation
from accounts.services.comments import comment_add
from accounts.services.delegations import delegation_create
from audit.choices import LedgerAction
from audit.models import LedgerEntry
from audit.verification import verify_chain
from tests import services
from tests.concurrency import run_at_once

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
