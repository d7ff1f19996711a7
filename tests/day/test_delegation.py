"""Delegation while away: a reviewer names a stand-in holding the same role; the stand-in's signature says on whose
behalf, and segregation of duties holds for both people."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from accounts.models import Delegation
from accounts.services.delegations import delegation_end
from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from audit.models import LedgerEntry, Signature
from lineage.choices import STAGES, DatasetVersionState
from lineage.services import dataset_version_assign_reviewer, dataset_version_review_approve
from tests.conftest import give_role
from tests.delegating import away
from tests.governance.conftest import PASSWORD
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db

LEGAL, SECURITY, _COMPLIANCE = STAGES


def test_a_delegate_signs_the_away_reviewers_review_on_their_behalf(submitted, reviewer, stand_in) -> None:
    delegation = away(reviewer, stand_in)

    version = dataset_version_review_approve(version=submitted, reviewer=stand_in, password=PASSWORD)

    assert version.state == DatasetVersionState.SECURITY_REVIEW
    signature = Signature.objects.get(object_id=str(submitted.pk))
    assert (signature.signer, signature.on_behalf_of) == (stand_in, reviewer)
    assert "Luis Standin on behalf of Lena Legal" in signature.manifestation
    assert signature.ledger_entry.payload["on_behalf_of"] == {"username": "lena", "printed_name": "Lena Legal"}
    created = LedgerEntry.objects.filter(object_type="accounts.delegation", object_id=str(delegation.pk))
    assert created.filter(action=LedgerAction.CREATE, actor=reviewer).exists()


def test_after_the_delegation_ends_the_delegate_can_no_longer_sign(submitted, reviewer, stand_in) -> None:
    delegation_end(delegation=away(reviewer, stand_in), actor=reviewer)

    with pytest.raises(ActionDenied, match="not the assigned Legal Reviewer"):
        dataset_version_review_approve(version=submitted, reviewer=stand_in, password=PASSWORD)
    assert not Signature.objects.exists()


def test_a_delegate_who_submitted_the_version_still_cannot_sign_it(submitted, reviewer, engineer) -> None:
    give_role(engineer, Role.LEGAL_REVIEWER)
    away(reviewer, engineer)

    with pytest.raises(ActionDenied, match="created or submitted"):
        dataset_version_review_approve(version=submitted, reviewer=engineer, password=PASSWORD)
    assert not Signature.objects.exists()


def test_the_delegator_counts_as_signer_of_the_stage_their_delegate_signed(
    submitted, reviewer, stand_in, user_in_role
) -> None:
    steward = user_in_role(Role.DATA_STEWARD, username="stew")
    give_role(reviewer, Role.SECURITY_REVIEWER)
    give_role(stand_in, Role.SECURITY_REVIEWER)
    away(reviewer, stand_in)
    version = dataset_version_review_approve(version=submitted, reviewer=stand_in, password=PASSWORD)
    assert version.state == DatasetVersionState.SECURITY_REVIEW

    for person in (reviewer, stand_in):  # neither may now take the Security stage of the same version
        with pytest.raises(ValidationError, match="already signed"):
            dataset_version_assign_reviewer(version=version, reviewer=person, actor=steward)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("self", "Nobody delegates to themselves"),
        ("other_role", "does not hold the Legal Reviewer role"),
        ("ends_before_start", "must end after it starts"),
        ("blank_reason", "Say why"),
        ("long_reason", "At most 500"),
        ("too_long", "at most 92 days"),
    ],
)
def test_malformed_delegations_are_refused_and_nothing_is_saved(
    case, message, reviewer, stand_in, user_in_role
) -> None:
    outsider = user_in_role(Role.SECURITY_REVIEWER, username="sec")
    now = timezone.now()
    arguments = {
        "self": {"delegate": reviewer},
        "other_role": {"delegate": outsider},
        "ends_before_start": {"fields": {"starts": now + timedelta(days=2), "ends": now + timedelta(days=1)}},
        "blank_reason": {"fields": {"reason": "   "}},
        "long_reason": {"fields": {"reason": "r" * 501}},
        "too_long": {"fields": {"ends": now + timedelta(days=200)}},
    }[case]

    with pytest.raises(ValidationError, match=message):
        away(reviewer, arguments.get("delegate", stand_in), **arguments.get("fields", {}))
    assert not Delegation.objects.exists()


def test_no_chains_a_stand_in_cannot_hand_on_and_someone_away_cannot_stand_in(reviewer, stand_in, user_in_role) -> None:
    third = user_in_role(Role.LEGAL_REVIEWER, username="third")
    away(reviewer, stand_in)

    with pytest.raises(ValidationError, match="cannot be handed on"):
        away(stand_in, third)
    with pytest.raises(ValidationError, match="away themselves"):
        away(third, reviewer)
    with pytest.raises(ValidationError, match="already have a delegation"):
        away(reviewer, third)
    assert Delegation.objects.count() == 1


def test_only_the_delegator_or_an_access_administrator_creates_or_ends_a_delegation(
    reviewer, stand_in, user_in_role
) -> None:
    someone = user_in_role(Role.LEGAL_REVIEWER, username="someone")

    with pytest.raises(ActionDenied):
        away(reviewer, stand_in, actor=someone)
    delegation = away(reviewer, stand_in)
    with pytest.raises(ActionDenied):
        delegation_end(delegation=delegation, actor=stand_in)
    denial = LedgerEntry.objects.filter(action=LedgerAction.DENIED, actor=stand_in).last()
    assert denial.payload["attempted"] == "delegation_end"
    delegation.refresh_from_db()
    assert delegation.ended_at is None


def test_the_delegate_sees_the_away_reviewers_work_on_their_landing_page(
    client: Client, submitted, reviewer, stand_in
) -> None:
    login_verified(client, stand_in)
    before = client.get(reverse("admin:index")).content.decode()
    away(reviewer, stand_in)

    after = client.get(reverse("admin:index")).content.decode()

    assert str(submitted) not in before
    assert "on behalf of Lena Legal" in after
    change_page = client.get(reverse("admin:lineage_datasetversion_change", args=[submitted.pk])).content.decode()
    assert "Approve (sign)" in change_page


def test_my_delegations_page_creates_and_ends_a_delegation(client: Client, reviewer, stand_in) -> None:
    login_verified(client, reviewer)
    today = timezone.now().date()
    page = reverse("admin:my_delegations")

    response = client.post(
        page,
        {
            "role": Role.LEGAL_REVIEWER,
            "delegate": "luis",
            "starts": today.isoformat(),
            "ends": (today + timedelta(days=5)).isoformat(),
            "reason": "Conference <week>",
        },
    )

    assert response.status_code == 302
    delegation = Delegation.objects.get()
    assert (delegation.delegator, delegation.delegate, delegation.created_by) == (reviewer, stand_in, reviewer)
    listing = client.get(page).content.decode()
    assert "Conference &lt;week&gt;" in listing
    assert client.post(reverse("admin:my_delegation_end", args=[delegation.pk])).status_code == 302
    delegation.refresh_from_db()
    assert delegation.ended_by == reviewer


@pytest.mark.parametrize(
    "data",
    [
        {"role": "Legal Reviewer", "delegate": "nobody", "starts": "2026-01-01", "ends": "2026-01-02", "reason": "x"},
        {"role": "Legal Reviewer", "delegate": "luis", "starts": "not a date", "ends": "2026-01-02", "reason": "x"},
        {"role": "Auditor", "delegate": "luis", "starts": "2030-01-01", "ends": "2030-01-02", "reason": "x"},
        {
            "role": "Legal Reviewer",
            "delegate": "luis",
            "starts": "2030-01-01",
            "ends": "2030-01-02",
            "reason": "x" * 600,
        },
    ],
    ids=["unknown-person", "malformed-date", "role-not-held", "oversized-reason"],
)
def test_the_delegation_form_refuses_bad_input_with_400(client: Client, reviewer, stand_in, data) -> None:
    login_verified(client, reviewer)

    response = client.post(reverse("admin:my_delegations"), data)

    assert response.status_code == 400
    assert not Delegation.objects.exists()


def test_someone_else_cannot_end_my_delegation_from_their_page(client: Client, reviewer, stand_in) -> None:
    delegation = away(reviewer, stand_in)
    login_verified(client, stand_in)

    response = client.post(reverse("admin:my_delegation_end", args=[delegation.pk]), follow=True)

    assert "Only the delegator" in response.content.decode()
    delegation.refresh_from_db()
    assert delegation.ended_at is None
