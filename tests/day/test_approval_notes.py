"""Approvals take an optional note, kept with the signature, in its ledger entry and wherever signatures are listed."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.services.signatures import signature_sign
from audit.choices import LedgerAction
from audit.models import Signature
from audit.models.signatures import NOTE_MAX_LENGTH
from audit.signatures import signatures_for
from governance.choices import EvaluationDimension
from lineage.choices import DatasetVersionState
from registry.choices import Environment
from registry.services.gates import gate_human_review
from tests.governance.conftest import PASSWORD
from tests.registry.pages import staged
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db


def approve_page(version) -> str:
    return reverse("admin:lineage_datasetversion_approve", args=[version.pk])


def test_a_reviewers_note_is_kept_with_the_signature_and_its_ledger_entry(client: Client, submitted, reviewer) -> None:
    login_verified(client, reviewer)
    note = "Approved on condition that the <b>Zendesk</b> extract drops free-text fields."

    response = client.post(approve_page(submitted), {"username": "lena", "password": PASSWORD, "note": f"  {note}  "})

    assert response.status_code == 302
    signature = Signature.objects.get(object_id=str(submitted.pk))
    assert signature.note == note
    assert signature.ledger_entry.action == LedgerAction.SIGN
    assert signature.ledger_entry.payload["note"] == note
    trail = client.get(reverse("admin:lineage_datasetversion_audit_trail", args=[submitted.pk])).content.decode()
    assert "&lt;b&gt;Zendesk&lt;/b&gt;" in trail  # shown, escaped
    assert "<b>Zendesk</b>" not in trail


def test_a_signature_without_a_note_has_none_in_its_ledger_entry(client: Client, submitted, reviewer) -> None:
    login_verified(client, reviewer)

    client.post(approve_page(submitted), {"username": "lena", "password": PASSWORD, "note": "   "})

    signature = Signature.objects.get(object_id=str(submitted.pk))
    assert signature.note == ""
    assert "note" not in signature.ledger_entry.payload


def test_an_oversized_note_is_refused_with_its_limit_and_nothing_is_signed(client: Client, submitted, reviewer) -> None:
    login_verified(client, reviewer)

    response = client.post(
        approve_page(submitted), {"username": "lena", "password": PASSWORD, "note": "x" * (NOTE_MAX_LENGTH + 1)}
    )

    assert response.status_code == 400
    assert f"at most {NOTE_MAX_LENGTH} characters" in response.content.decode()
    assert not Signature.objects.filter(object_id=str(submitted.pk)).exists()
    submitted.refresh_from_db()
    assert submitted.state == DatasetVersionState.LEGAL_REVIEW


def test_the_service_refuses_an_oversized_note_too(memo, author) -> None:
    with pytest.raises(ValidationError, match="at most"):
        signature_sign(record=memo, signer=author, password=PASSWORD, meaning="Approved", note="n" * 5000)
    assert not Signature.objects.exists()


def test_someone_not_assigned_cannot_sign_with_a_note(client: Client, submitted, stand_in) -> None:
    login_verified(client, stand_in)

    response = client.post(approve_page(submitted), {"username": "luis", "password": PASSWORD, "note": "Fine by me."})

    assert response.status_code == 403
    assert not Signature.objects.filter(object_id=str(submitted.pk)).exists()


def test_the_signing_page_lists_earlier_signatures_with_their_notes(client: Client, submitted, reviewer) -> None:
    login_verified(client, reviewer)
    client.post(approve_page(submitted), {"username": "lena", "password": PASSWORD, "note": "Checked the DPA."})

    page = client.get(approve_page(submitted)).content.decode()  # now at Security: Lena is told why not, and sees

    assert "Approved as Legal reviewer" in page
    assert "Checked the DPA." in page


def test_a_borderline_gates_review_note_is_kept_with_its_signature_and_its_page_asks_no_second_note(
    client: Client, world
) -> None:
    decision = world.gate(world.model(), rates={EvaluationDimension.FACTUALITY: (94, 100)})
    login_verified(client, world["risk"])
    page = client.get(reverse("admin:registry_gatedecision_human_review", args=[decision.pk])).content.decode()

    reviewed = gate_human_review(
        decision=decision,
        reviewer=world["risk"],
        verdict="accepted",
        note="Refund answers re-checked.",
        password=PASSWORD,
    )

    assert page.count('name="note"') == 1  # the review's own note, which the signature keeps
    [(signature, _valid)] = signatures_for(reviewed)
    assert signature.note == "Refund answers re-checked."


def test_every_signing_page_offers_the_note(client: Client, world) -> None:
    ticket = world.ticket(staged(world), Environment.PROD)
    login_verified(client, world["cab"])

    page = client.get(reverse("admin:registry_changeticket_approve", args=[ticket.pk])).content.decode()

    assert 'id="id_note"' in page
