"""Pipeline tokens: issued once, stored hashed, scoped, revocable; their service account never approves."""

import datetime
import hashlib
import io
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.authz import explicit_permissions
from accounts.choices import Role
from accounts.models import PipelineToken
from accounts.services.tokens import pipeline_token_revoke
from audit import ledger
from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from audit.models import LedgerEntry
from registry.services.promotion import change_ticket_approve
from tests.registry.conftest import ledger_of
from tests.signing_in import login_verified

DEPLOYMENT = "/api/v1/deployments/support-assistant/dev"


def bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.mark.django_db
def test_create_pipeline_token_prints_a_working_token_on_its_last_line(demo_organisation):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "create_pipeline_token",
        "--service-account",
        "release-bot",
        "--use-case",
        "support-assistant",
        "--scope",
        "deployments:read",
        "--expires-in-days",
        "30",
        stdout=out,
        stderr=err,
    )
    secret = out.getvalue().strip().splitlines()[-1]
    token = PipelineToken.objects.get()
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(list(LedgerEntry.objects.values_list("canonical", flat=True)))
    assert token.scopes == ["deployments:read"]
    assert list(token.use_cases.values_list("slug", flat=True)) == ["support-assistant"]
    assert token.expires_at - timezone.now() > datetime.timedelta(days=29)
    account = token.service_account
    assert account.username == "svc-release-bot"
    assert account.is_active
    assert not account.is_staff
    assert not account.is_superuser
    assert not account.has_usable_password()
    assert set(account.groups.values_list("name", flat=True)) == {Role.ML_ENGINEER.value}
    assert ledger_of(token), "issuing a token is on the ledger"

    response = APIClient().get(DEPLOYMENT, **bearer(secret))
    assert response.status_code == 200
    assert response.json()["current_version"] is None


@pytest.mark.django_db
def test_service_account_holds_no_approval_permission(world, issue):
    account = issue().account
    assert not [permission for permission in explicit_permissions(account) if ".approve_" in permission]
    assert "registry.gate_review_modelversion" not in explicit_permissions(account)
    assert not Group.objects.filter(user=account).exclude(name=Role.ML_ENGINEER.value).exists()


@pytest.mark.django_db
def test_service_account_cannot_sign_a_change_ticket(world, issue):
    account = issue().account
    model = world.model()
    world.promote(model, "dev")
    ticket = world.ticket(model, "test")
    with pytest.raises(ActionDenied):
        change_ticket_approve(ticket=ticket, approver=account, password="")


@pytest.mark.django_db
def test_no_token_is_401(demo_organisation):
    response = APIClient().get(DEPLOYMENT)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_unknown_token_is_401(demo_organisation):
    assert APIClient().get(DEPLOYMENT, **bearer("pt_0000_not-a-token")).status_code == 401
    assert APIClient().get(DEPLOYMENT, HTTP_AUTHORIZATION="Bearer").status_code == 401


@pytest.mark.django_db
def test_revoked_token_is_401(world, issue):
    pipeline = issue()
    assert pipeline.get(DEPLOYMENT).status_code == 200
    pipeline_token_revoke(token=pipeline.token, actor=None, actor_name="system:test", reason="Leaked in a log.")
    assert pipeline.get(DEPLOYMENT).status_code == 401
    assert ledger_of(pipeline.token)[-1].actor_name == "system:test"


@pytest.mark.django_db
def test_expired_token_is_401(world, issue):
    pipeline = issue(days=1)
    assert pipeline.get(DEPLOYMENT).status_code == 200
    later = timezone.now() + datetime.timedelta(days=2)
    with mock.patch("accounts.services.tokens.timezone.now", return_value=later):
        assert pipeline.get(DEPLOYMENT).status_code == 401


@pytest.mark.django_db
def test_a_person_cannot_revoke_a_token_without_the_permission(world, issue):
    pipeline = issue()
    with pytest.raises(ActionDenied):
        pipeline_token_revoke(token=pipeline.token, actor=world["mleng"], reason="Not mine to revoke.")
    pipeline.token.refresh_from_db()
    assert pipeline.token.revoked_at is None


@pytest.mark.django_db
def test_administrator_revokes_tokens_in_the_admin(world, issue, client):
    pipeline = issue()
    login_verified(client, world["admin"])
    response = client.post(
        "/admin/accounts/pipelinetoken/",
        {"action": "revoke", "_selected_action": [pipeline.token.pk]},
    )
    assert response.status_code == 302
    pipeline.token.refresh_from_db()
    assert pipeline.token.revoked_at is not None
    assert pipeline.token.revoked_by.startswith("admin")
    assert pipeline.get(DEPLOYMENT).status_code == 401
    assert client.get("/admin/accounts/pipelinetoken/").status_code == 200
    page = client.get(f"/admin/accounts/pipelinetoken/{pipeline.token.pk}/change/")
    assert page.status_code == 200
    assert pipeline.token.token_hash not in page.content.decode()
    assert client.get(f"/admin/accounts/pipelinetoken/{pipeline.token.pk}/audit-trail/").status_code == 200


@pytest.mark.django_db
def test_a_tokens_audit_trail_reads_the_entries_written_before_tokens_moved_to_accounts(world, issue, client):
    """Tokens belonged to the governance app: what the ledger recorded of them then keeps its type, and still
    belongs to the token's audit trail."""
    pipeline = issue()
    before = ledger.append(
        action=LedgerAction.UPDATE,
        actor_name="system:test",
        object_type="governance.pipelinetoken",
        object_id=str(pipeline.token.pk),
        payload={"name": "recorded before the move"},
    )
    since = LedgerEntry.objects.get(object_type="accounts.pipelinetoken", action=LedgerAction.CREATE)
    login_verified(client, world["admin"])

    page = client.get(f"/admin/accounts/pipelinetoken/{pipeline.token.pk}/audit-trail/").content.decode()

    for entry in (before, since):
        assert f"/admin/audit/ledgerentry/{entry.sequence}/change/" in page


@pytest.mark.django_db
def test_create_pipeline_token_refuses_bad_input_and_issues_nothing(demo_organisation):
    with pytest.raises(CommandError, match="No use case nowhere"):
        call_command("create_pipeline_token", "--service-account", "bot", "--use-case", "nowhere")
    with pytest.raises(CommandError, match="expires after"):
        call_command(
            "create_pipeline_token",
            "--service-account",
            "bot",
            "--use-case",
            "support-assistant",
            "--expires-in-days",
            "0",
        )
    get_user_model().objects.create_user(username="svc-maya", password="a-person-chose-this", is_staff=True)
    with pytest.raises(CommandError, match="person's login"):
        call_command("create_pipeline_token", "--service-account", "maya", "--use-case", "support-assistant")
    assert not PipelineToken.objects.exists()


@pytest.mark.django_db
def test_administrator_revokes_one_token_saying_why(world, issue, client):
    pipeline = issue()
    url = f"/admin/accounts/pipelinetoken/{pipeline.token.pk}/revoke/"
    login_verified(client, world["mleng"])
    assert client.get(url).status_code == 403, "an engineer is not a token administrator"
    login_verified(client, world["admin"])
    assert client.get(url).status_code == 200
    assert client.post(url, {"reason": ""}).status_code == 400
    response = client.post(url, {"reason": "The CI secret store was rotated."})
    assert response.status_code == 302
    pipeline.token.refresh_from_db()
    assert pipeline.token.revocation_reason == "The CI secret store was rotated."
    assert ledger_of(pipeline.token)[-1].actor_name.startswith("admin")
    assert pipeline.get(DEPLOYMENT).status_code == 401
    assert client.post(url, {"reason": "Again."}).status_code == 403, "a revoked token stays revoked"
