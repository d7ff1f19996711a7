"""Filing and processing an erasure request in the admin, through the services."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.choices import Role
from lineage.choices import ErasureState
from lineage.models import ErasureRequest
from tests.lineage.conftest import register_source
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db


def test_compliance_files_a_request_and_processes_it_once(client: Client, user_in_role, steward) -> None:
    crm = register_source(steward, "CRM")
    dpo = user_in_role(Role.COMPLIANCE_REVIEWER, username="dpo")
    login_verified(client, dpo)

    filed = client.post(
        reverse("admin:lineage_erasurerequest_add"),
        {
            "kind": "data_subject",
            "reference": "DSR-7",
            "source_systems": [crm.pk],
            "period_start": "2026-02-01",
            "period_end": "2026-02-28",
            "reason": "Art. 17 request",
        },
    )
    request = ErasureRequest.objects.get()
    page = client.get(reverse("admin:lineage_erasurerequest_change", args=[request.pk])).content.decode()
    processed = client.post(reverse("admin:lineage_erasurerequest_process", args=[request.pk]))
    again = client.post(reverse("admin:lineage_erasurerequest_process", args=[request.pk]), follow=True)

    assert filed.status_code == 302
    assert "Process: revoke and report" in page
    assert processed.status_code == 302
    request.refresh_from_db()
    assert request.state == ErasureState.PROCESSED
    assert request.requested_by == dpo
    assert "processed already" in again.content.decode()


def test_an_ml_engineer_cannot_file_or_process_requests(client: Client, user_in_role, engineer) -> None:
    login_verified(client, engineer)

    assert client.get(reverse("admin:lineage_erasurerequest_add")).status_code == 403


def test_a_request_with_a_backwards_period_is_refused_on_the_form(client: Client, user_in_role, steward) -> None:
    crm = register_source(steward, "CRM")
    login_verified(client, user_in_role(Role.COMPLIANCE_REVIEWER, username="dpo"))

    response = client.post(
        reverse("admin:lineage_erasurerequest_add"),
        {
            "kind": "data_subject",
            "reference": "DSR-8",
            "source_systems": [crm.pk],
            "period_start": "2026-03-01",
            "period_end": "2026-02-01",
            "reason": "x",
        },
    )

    assert response.status_code == 200
    assert "The period ends before it starts." in response.content.decode()
    assert not ErasureRequest.objects.exists()
