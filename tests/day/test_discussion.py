"""Discussion threads on dataset versions and change tickets: anyone who may view the record comments; each
comment is a ledger entry, escaped where shown, and never changes the record or its approvals."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.models import Comment
from accounts.models.discussion import COMMENT_MAX_LENGTH
from accounts.services.comments import comment_add
from audit.canonical import record_digest
from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from audit.models import LedgerEntry
from governance.choices import EvaluationDimension
from lineage.models import DatasetVersion
from registry.choices import Environment, GateOutcome
from tests.registry.pages import staged
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db


def comment_url(version) -> str:
    return reverse("admin:lineage_datasetversion_comment", args=[version.pk])


def test_a_comment_is_a_ledger_entry_and_changes_nothing_about_the_record(submitted, reviewer) -> None:
    before = (record_digest(submitted), submitted.state, submitted.history.count())

    comment = comment_add(target=submitted, author=reviewer, text="  Which DPA covers the Zendesk extract?  ")

    submitted = DatasetVersion.objects.get(pk=submitted.pk)
    assert (record_digest(submitted), submitted.state, submitted.history.count()) == before
    assert comment.text == "Which DPA covers the Zendesk extract?"
    entry = comment.ledger_entry
    assert (entry.action, entry.actor, entry.object_id) == (LedgerAction.COMMENT, reviewer, str(submitted.pk))
    assert entry.payload == {"comment": comment.text, "author": "Lena Legal"}


@pytest.mark.parametrize(
    ("text", "message"), [("   ", "Write something"), ("x" * (COMMENT_MAX_LENGTH + 1), "at most 4000 characters")]
)
def test_an_empty_or_oversized_comment_is_refused(submitted, reviewer, text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        comment_add(target=submitted, author=reviewer, text=text)
    assert not Comment.objects.exists()


def test_someone_who_may_not_view_the_record_cannot_comment_and_is_recorded(submitted, author) -> None:
    with pytest.raises(ActionDenied, match="may view this record"):
        comment_add(target=submitted, author=author, text="Hello")

    assert not Comment.objects.exists()
    denial = LedgerEntry.objects.filter(action=LedgerAction.DENIED, actor=author).get()
    assert denial.payload["attempted"] == "comment_add"


def test_the_review_page_shows_the_thread_escaped_and_takes_a_comment(client: Client, submitted, auditor) -> None:
    login_verified(client, auditor)  # an auditor may view, so may ask

    response = client.post(comment_url(submitted), {"text": "Why <script>alert(1)</script> here?"})
    page = client.get(reverse("admin:lineage_datasetversion_change", args=[submitted.pk])).content.decode()

    assert response.status_code == 302
    assert response["Location"].endswith(f"/lineage/datasetversion/{submitted.pk}/change/#discussion")
    assert 'id="discussion"' in page
    assert "Why &lt;script&gt;alert(1)&lt;/script&gt; here?" in page
    assert "<script>alert(1)</script>" not in page


def test_an_oversized_comment_is_shown_again_with_its_text_and_a_400(client: Client, submitted, reviewer) -> None:
    login_verified(client, reviewer)
    text = "y" * (COMMENT_MAX_LENGTH + 10)

    response = client.post(comment_url(submitted), {"text": text})

    assert response.status_code == 400
    assert text in response.content.decode()
    assert not Comment.objects.exists()


def test_a_person_without_view_permission_gets_403_from_the_comment_page(client: Client, submitted, author) -> None:
    author.is_staff = True
    author.save()
    login_verified(client, author)

    response = client.post(comment_url(submitted), {"text": "Let me in."})

    assert response.status_code == 403
    assert not Comment.objects.exists()


def test_a_change_ticket_has_its_own_thread_and_a_borderline_gate_emails_its_deciders(
    client: Client, world, settings, django_capture_on_commit_callbacks
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        borderline = world.gate(world.model(), rates={EvaluationDimension.FACTUALITY: (94, 100)})
    assert borderline.outcome == GateOutcome.BORDERLINE
    gate_mails = [message for message in mail.outbox if "A gate needs your decision" in message.subject]
    assert sorted(to for message in gate_mails for to in message.to) == ["risk2@demo.example", "risk@demo.example"]

    ticket = world.ticket(staged(world), Environment.PROD)
    login_verified(client, world["cab"])

    response = client.post(
        reverse("admin:registry_changeticket_comment", args=[ticket.pk]), {"text": "Rollback plan tested?"}
    )
    page = client.get(reverse("admin:registry_changeticket_change", args=[ticket.pk])).content.decode()

    assert response.status_code == 302
    assert "Rollback plan tested?" in page
    ticket.refresh_from_db()
    assert ticket.state == "submitted"
