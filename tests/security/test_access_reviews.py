"""Access reviews: each period the owner of every role signs its member list, and the members it names lose the
role once a second person approves each removal."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.authz import roles_of
from accounts.choices import AccessReviewState, Role, RoleGrantState
from accounts.models import AccessReview, RoleGrant
from accounts.services.access_reviews import (
    access_review_attest,
    access_review_period_start,
    access_reviews_open_due,
)
from accounts.services.role_grants import role_grant_revocation_approve
from accounts.tasks import open_due_access_reviews
from audit.ledger import ActionDenied
from audit.signatures import signatures_for
from tests.conftest import give_role
from tests.governance.conftest import PASSWORD
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def compliance_owner(user_in_role):
    return user_in_role(Role.COMPLIANCE_REVIEWER, username="compliance")


@pytest.fixture
def risk(user_in_role):
    return user_in_role(Role.RISK_OFFICER, username="risk")


@pytest.fixture
def second_risk(user_in_role):
    return user_in_role(Role.RISK_OFFICER, username="risk-2")


@pytest.fixture
def lawyers(user_in_role):
    return [user_in_role(Role.LEGAL_REVIEWER, username=name) for name in ("lena", "leo")]


def legal_review() -> AccessReview:
    return AccessReview.objects.get(role=Role.LEGAL_REVIEWER)


def grant_of(user, role: Role) -> RoleGrant:
    return RoleGrant.objects.get(user=user, role=role, state__in=["approved", "revocation_requested"])


@pytest.mark.parametrize(
    ("months", "day", "start"),
    [(3, "2026-12-04", "2026-10-01"), (3, "2026-01-31", "2026-01-01"), (6, "2026-07-15", "2026-07-01")],
)
def test_periods_start_on_the_first_month_of_each_period(settings, months: int, day: str, start: str) -> None:
    settings.ACCESS_REVIEW_MONTHS = months

    assert access_review_period_start(datetime.date.fromisoformat(day)) == datetime.date.fromisoformat(start)


def test_a_review_opens_once_per_role_and_period_with_the_members_as_they_stand(lawyers) -> None:
    opened = open_due_access_reviews()

    assert sorted(opened) == sorted(Role.values)
    assert open_due_access_reviews() == []  # idempotent
    assert [member["username"] for member in legal_review().members] == ["lena", "leo"]
    next_quarter = access_review_period_start() + datetime.timedelta(days=100)
    assert len(access_reviews_open_due(day=next_quarter)) == len(Role)


def test_the_owner_attests_and_the_named_member_loses_the_role_after_a_second_approval(
    lawyers, compliance_owner, risk
) -> None:
    lena, leo = lawyers
    access_reviews_open_due()

    review = access_review_attest(
        review=legal_review(),
        attester=compliance_owner,
        password=PASSWORD,
        remove=[str(grant_of(leo, Role.LEGAL_REVIEWER).pk)],
        note="Leo moved to the sales team.",
    )

    assert (review.state, review.attested_by) == (AccessReviewState.ATTESTED, compliance_owner)
    [(signature, holds)] = signatures_for(review)
    assert holds
    assert signature.meaning.startswith("Attested the Legal Reviewer members as Compliance Reviewer")
    removal = grant_of(leo, Role.LEGAL_REVIEWER)
    assert (removal.state, removal.revocation_requested_by) == (RoleGrantState.REVOCATION_REQUESTED, compliance_owner)
    assert "Leo moved to the sales team." in removal.revocation_reason
    assert Role.LEGAL_REVIEWER.value in roles_of(User.objects.get(pk=leo.pk))  # until a second person approves

    with pytest.raises(ActionDenied, match="You asked for this change"):
        role_grant_revocation_approve(grant=removal, approver=compliance_owner, password=PASSWORD)
    role_grant_revocation_approve(grant=removal, approver=risk, password=PASSWORD)

    assert roles_of(User.objects.get(pk=leo.pk)) == set()
    assert roles_of(User.objects.get(pk=lena.pk)) == {Role.LEGAL_REVIEWER.value}


def test_only_the_owner_role_attests(lawyers, risk) -> None:
    access_reviews_open_due()

    with pytest.raises(ActionDenied, match="attested by a Compliance Reviewer"):
        access_review_attest(review=legal_review(), attester=risk, password=PASSWORD)


def test_nobody_attests_a_role_they_hold(risk, second_risk, compliance_owner) -> None:
    give_role(compliance_owner, Role.RISK_OFFICER)
    access_reviews_open_due()

    with pytest.raises(ActionDenied, match="You hold the Risk Officer role"):
        access_review_attest(
            review=AccessReview.objects.get(role=Role.RISK_OFFICER),
            attester=User.objects.get(pk=compliance_owner.pk),
            password=PASSWORD,
        )


def test_an_attested_review_is_not_attested_again(lawyers, compliance_owner, user_in_role) -> None:
    access_reviews_open_due()
    access_review_attest(review=legal_review(), attester=compliance_owner, password=PASSWORD)
    other = user_in_role(Role.COMPLIANCE_REVIEWER, username="compliance-2")

    with pytest.raises(ActionDenied, match="not waiting for attestation"):
        access_review_attest(review=legal_review(), attester=other, password=PASSWORD)


def test_removals_must_be_on_the_list_and_explained(lawyers, compliance_owner, risk) -> None:
    access_reviews_open_due()

    with pytest.raises(ValidationError, match="Only members on the review's list"):
        access_review_attest(
            review=legal_review(),
            attester=compliance_owner,
            password=PASSWORD,
            remove=[grant_of(risk, Role.RISK_OFFICER).pk],
            note="Not a lawyer.",
        )
    with pytest.raises(ValidationError, match="Say why"):
        access_review_attest(
            review=legal_review(),
            attester=compliance_owner,
            password=PASSWORD,
            remove=[grant_of(lawyers[0], Role.LEGAL_REVIEWER).pk],
        )
    assert legal_review().state == AccessReviewState.OPEN


def test_the_owner_ticks_a_member_on_the_signing_page(client, lawyers, compliance_owner) -> None:
    lena, leo = lawyers
    access_reviews_open_due()
    review = legal_review()
    leos = grant_of(leo, Role.LEGAL_REVIEWER)
    login_verified(client, compliance_owner)
    url = reverse("admin:accounts_accessreview_attest", args=[review.pk])

    page = client.get(url)
    assert page.status_code == 200
    assert f'name="remove" value="{leos.pk}" form="signing-form"' in page.content.decode()

    response = client.post(
        url,
        {"remove": [str(leos.pk)], "note": "Moved to sales.", "username": "compliance", "password": PASSWORD},
    )

    assert response.status_code == 302
    assert legal_review().state == AccessReviewState.ATTESTED
    assert grant_of(leo, Role.LEGAL_REVIEWER).state == RoleGrantState.REVOCATION_REQUESTED
    assert grant_of(lena, Role.LEGAL_REVIEWER).state == RoleGrantState.APPROVED
