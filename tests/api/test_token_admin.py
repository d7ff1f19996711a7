"""Issuing a pipeline token in the admin: only who may issue tokens can, the secret is in that one response and
nowhere else (not stored, not cached, not in a cookie), and bad input is refused with the form kept."""

import hashlib
import re

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from accounts.choices import Role
from accounts.models import PipelineToken
from audit.choices import LedgerAction
from audit.models import LedgerEntry
from governance.models import UseCase
from tests.signing_in import login_verified

ISSUE = "/admin/accounts/pipelinetoken/issue/"
TOKENS = "/admin/accounts/pipelinetoken/"
SECRET = re.compile(r'id="issued-secret" value="(pt_[^"]+)"')


def issue_form(**overrides: object) -> dict[str, object]:
    use_case = UseCase.objects.get(slug="support-assistant")
    return {
        "service_account": "release-bot",
        "name": "Release pipeline",
        "use_cases": [use_case.pk],
        "scopes": ["deployments:read", "gates:read"],
        "expires_in_days": "30",
        "rate_limit": "120/min",
        **overrides,
    }


@pytest.fixture
def administrator(demo_organisation, client):
    login_verified(client, demo_organisation["admin"])
    return client


@pytest.mark.django_db
def test_an_administrator_issues_a_token_and_sees_its_secret_only_in_that_response(administrator):
    assert 'href="/admin/accounts/pipelinetoken/issue/"' in administrator.get(TOKENS).content.decode()
    assert administrator.get(ISSUE).status_code == 200

    response = administrator.post(ISSUE, issue_form())

    assert response.status_code == 200
    secret = SECRET.search(response.content.decode()).group(1)
    assert "no-store" in response["Cache-Control"]
    assert "messages" not in response.cookies
    token = PipelineToken.objects.get()
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert (token.service_account.username, token.scopes, token.rate_limit) == (
        "svc-release-bot",
        ["deployments:read", "gates:read"],
        "120/min",
    )
    assert token.created_by.startswith("admin")
    entries = LedgerEntry.objects.filter(object_type="accounts.pipelinetoken", object_id=str(token.pk))
    assert any(entry.payload.get("rate_limit") == "120/min" for entry in entries)
    everything_recorded = b"".join(
        bytes(canonical) for canonical in LedgerEntry.objects.values_list("canonical", flat=True)
    )
    assert secret.encode() not in everything_recorded
    assert secret.split("_")[-1].encode() not in everything_recorded

    for page in (TOKENS, f"{TOKENS}{token.pk}/change/"):
        shown = administrator.get(page)
        assert shown.status_code == 200
        assert secret not in shown.content.decode()
        assert token.prefix in shown.content.decode()

    api = APIClient().get("/api/v1/deployments/support-assistant/dev", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.RISK_OFFICER, Role.AUDITOR, Role.ML_ENGINEER])
def test_a_person_whose_role_may_not_issue_tokens_is_refused_and_the_attempt_recorded(demo_organisation, client, role):
    person = get_user_model().objects.filter(groups__name=role.value).first()
    login_verified(client, person)

    assert client.get(ISSUE).status_code == 403
    response = client.post(ISSUE, issue_form())

    assert response.status_code == 403
    assert not PipelineToken.objects.exists()
    denial = LedgerEntry.objects.filter(action=LedgerAction.DENIED).latest("sequence")
    assert denial.actor_id == person.pk
    assert denial.payload["attempted"] == "pipeline_token_create"
    assert 'href="/admin/accounts/pipelinetoken/issue/"' not in client.get(TOKENS).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"use_cases": []}, "use_cases", "This field is required."),
        ({"scopes": ["registry:approve"]}, "scopes", "Select a valid choice."),
        ({"scopes": []}, "scopes", "This field is required."),
        ({"expires_in_days": "0"}, "expires_in_days", "greater than or equal to 1"),
        ({"expires_in_days": "10000"}, "expires_in_days", "less than or equal to 730"),
        ({"expires_in_days": "soon"}, "expires_in_days", "Enter a whole number."),
        ({"rate_limit": "lots"}, "rate_limit", "Give a rate as requests per period"),
        ({"rate_limit": "9" * 30 + "/s"}, "rate_limit", "at most 20 characters"),
        ({"service_account": "!!!"}, "service_account", "Name the service account"),
        ({"service_account": "x" * 101}, "service_account", "at most 100 characters"),
        ({"name": "   "}, "name", "This field is required."),
        ({"use_cases": ["999999"]}, "use_cases", "Select a valid choice."),
    ],
)
def test_malformed_input_is_refused_with_the_form_kept_and_no_token_issued(administrator, overrides, field, message):
    response = administrator.post(ISSUE, issue_form(**overrides))

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert "issued-secret" not in response.content.decode()
    assert not PipelineToken.objects.exists()
    assert not get_user_model().objects.filter(username="svc-release-bot").exists()


@pytest.mark.django_db
def test_a_persons_login_cannot_be_made_a_service_account(administrator, demo_organisation):
    person = demo_organisation["mleng"]
    person.username = "svc-mleng"
    person.save()

    response = administrator.post(ISSUE, issue_form(service_account="mleng"))

    assert response.status_code == 400
    assert "is a person's login" in " ".join(response.context["form"].errors["service_account"])
    assert not PipelineToken.objects.exists()


@pytest.mark.django_db
def test_a_token_issued_in_the_admin_can_still_be_revoked_there(administrator):
    secret = SECRET.search(administrator.post(ISSUE, issue_form()).content.decode()).group(1)
    token = PipelineToken.objects.get()

    revoked = administrator.post(f"{TOKENS}{token.pk}/revoke/", {"reason": "Rotated after the release."})

    assert revoked.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    api = APIClient().get("/api/v1/deployments/support-assistant/dev", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.status_code == 401
