"""The admin shows evidence and never edits it; reading evidence is itself recorded."""

import json

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from accounts.choices import Role
from accounts.services.signatures import SIGNING_SESSION_KEY, signature_sign
from audit import ledger, signing_keys
from audit.choices import AccessKind, LedgerAction
from audit.models import AccessEvent, LedgerEntry, LedgerVerification, Signature
from tests.governance.conftest import PASSWORD
from tests.governed_app.models import Memo
from tests.governed_app.services import memo_edit
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db


def signed_in(client: Client, user) -> Client:
    login_verified(client, user)
    return client


AUDIT_MODELS = [
    "audit_ledgerentry",
    "audit_signature",
    "audit_ledgercheckpoint",
    "audit_ledgertreetile",
    "audit_verificationkey",
    "audit_ledgerverification",
    "audit_ledgerstatedifference",
    "audit_accessevent",
    "governance_breakglassoverride",
]


@pytest.mark.parametrize("model", AUDIT_MODELS)
def test_nobody_can_add_audit_records_in_the_admin_not_even_a_superuser(client: Client, admin_user, model) -> None:
    response = signed_in(client, admin_user).get(reverse(f"admin:{model}_add"))

    assert response.status_code == 403


def test_a_ledger_entry_page_is_read_only_and_cannot_be_deleted(client: Client, admin_user) -> None:
    entry = ledger.append(action=LedgerAction.EXPORT, object_label="pack", actor_name="t")
    signed_in(client, admin_user)

    page = client.get(reverse("admin:audit_ledgerentry_change", args=[entry.pk]))
    posted = client.post(reverse("admin:audit_ledgerentry_change", args=[entry.pk]), {"action": "view"})
    delete = client.post(reverse("admin:audit_ledgerentry_delete", args=[entry.pk]), {"post": "yes"})

    assert page.status_code == 200
    assert b'name="action"' not in page.content
    assert posted.status_code == 403
    assert delete.status_code == 403
    assert LedgerEntry.objects.get(pk=entry.pk).action == LedgerAction.EXPORT


def test_bulk_delete_is_not_offered_on_the_ledger(client: Client, admin_user) -> None:
    ledger.append(action=LedgerAction.EXPORT, actor_name="t")
    response = signed_in(client, admin_user).post(
        reverse("admin:audit_ledgerentry_changelist"),
        {"action": "delete_selected", "_selected_action": ["1"], "post": "yes"},
    )

    assert LedgerEntry.objects.count() == 1
    assert response.status_code in {200, 302}


def test_history_rows_cannot_be_reverted_or_edited_from_the_admin(client: Client, admin_user, memo: Memo) -> None:
    history_id = memo.history.first().history_id
    url = reverse("admin:governed_app_memo_simple_history", args=[memo.pk, history_id])

    response = signed_in(client, admin_user).post(url, {"title": "reverted", "body": "", "amount": "0"})

    memo.refresh_from_db()
    assert response.status_code == 403
    assert memo.title == "Card redaction rule"
    assert memo.history.count() == 1
    denial = LedgerEntry.objects.order_by("-sequence").first()
    assert (denial.action, denial.actor) == (LedgerAction.DENIED, admin_user)


def test_a_signature_cannot_be_deleted_from_the_admin(client: Client, admin_user, memo: Memo, author) -> None:
    signature = signature_sign(record=memo, signer=author, password=PASSWORD, meaning="Approved as author")

    response = signed_in(client, admin_user).post(
        reverse("admin:audit_signature_delete", args=[signature.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert Signature.objects.filter(pk=signature.pk).exists()


def test_people_without_an_audit_role_cannot_browse_the_ledger(client: Client, user_in_role) -> None:
    response = signed_in(client, user_in_role(Role.ML_ENGINEER)).get(reverse("admin:audit_ledgerentry_changelist"))

    assert response.status_code == 403


def test_the_ledger_browser_filters_and_searches_by_exact_object_id(client: Client, auditor) -> None:
    ledger.append(action=LedgerAction.EXPORT, object_type="governed_app.memo", object_id="42", object_label="m42")
    ledger.append(action=LedgerAction.DOWNLOAD, object_type="governed_app.memo", object_id="420", object_label="m420")
    signed_in(client, auditor)
    url = reverse("admin:audit_ledgerentry_changelist")

    by_id = client.get(url, {"q": "42"}).content.decode()
    by_action = client.get(url, {"action__exact": "download"}).content.decode()

    assert "m42<" in by_id
    assert "m420" not in by_id
    assert "m420" in by_action
    assert "m42<" not in by_action


def test_the_ledger_browser_never_counts_the_whole_table(
    client: Client, auditor, django_assert_max_num_queries, django_capture_on_commit_callbacks
) -> None:
    for number in range(30):
        ledger.append(action=LedgerAction.EXPORT, object_label=f"e{number}", actor_name="t")
    signed_in(client, auditor)

    with django_assert_max_num_queries(12) as captured:
        response = client.get(reverse("admin:audit_ledgerentry_changelist"))

    assert response.status_code == 200
    counts = [query["sql"] for query in captured.captured_queries if "COUNT(" in query["sql"].upper()]
    assert counts
    assert all("LIMIT" in sql.upper() for sql in counts)


def test_the_audit_trail_shows_diffs_and_signature_validity_and_records_the_view(
    client: Client, auditor, memo: Memo, author
) -> None:
    auditor.user_permissions.add(Permission.objects.get(codename="view_memo"))
    signature_sign(record=memo, signer=author, password=PASSWORD, meaning="Approved as author")
    memo_edit(memo=memo, actor=author, body="Edited after approval.")
    signed_in(client, auditor)

    change_page = client.get(reverse("admin:governed_app_memo_change", args=[memo.pk])).content.decode()
    trail = client.get(reverse("admin:governed_app_memo_audit_trail", args=[memo.pk])).content.decode()

    assert reverse("admin:governed_app_memo_audit_trail", args=[memo.pk]) in change_page
    assert "body: Redact full card numbers. → Edited after approval." in trail
    assert "Invalidated: the record changed after signing" in trail
    event = AccessEvent.objects.get()
    assert (event.user, event.kind, event.object_id) == (auditor, AccessKind.VIEW_AUDIT_TRAIL, str(memo.pk))


def test_the_audit_trail_is_refused_to_people_who_cannot_see_the_record(
    client: Client, user_in_role, memo: Memo
) -> None:
    response = signed_in(client, user_in_role(Role.PRODUCT_OWNER)).get(
        reverse("admin:governed_app_memo_audit_trail", args=[memo.pk])
    )

    assert response.status_code == 403
    assert not AccessEvent.objects.exists()


def test_the_jsonl_export_is_verifiable_offline_and_is_itself_recorded(client: Client, auditor) -> None:
    import hashlib

    import rfc8785

    appended = [
        ledger.append(action=LedgerAction.EXPORT, object_label=f"e{number}", actor_name="t").sequence
        for number in range(5)
    ]  # after the auditor's role grant's entries
    signed_in(client, auditor)

    response = client.get(reverse("admin:audit_ledgerentry_export"), {"action__exact": "export"})
    lines = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]

    assert response["Content-Type"] == "application/x-ndjson"
    assert [line["entry"]["sequence"] for line in lines] == appended
    for line in lines:
        canonical = rfc8785.dumps(line["entry"])
        assert hashlib.sha256(bytes.fromhex(line["prev_hash"]) + canonical).hexdigest() == line["entry_hash"]
    export = LedgerEntry.objects.order_by("-sequence").first()
    assert (export.action, export.actor) == (LedgerAction.EXPORT, auditor)
    assert export.payload["filters"] == {"action__exact": "export"}
    assert AccessEvent.objects.get().kind == AccessKind.EXPORT


def test_a_failed_verification_is_shown_on_every_landing_page_until_a_run_passes(client: Client, user_in_role) -> None:
    from django.utils import timezone

    now = timezone.now()
    LedgerVerification.objects.create(
        started_at=now,
        finished_at=now,
        ok=False,
        entries_checked=6,
        checkpoints_checked=0,
        first_broken_sequence=7,
        message="entry #7: entry_hash does not match",
    )
    signed_in(client, user_in_role(Role.PRODUCT_OWNER))

    assert "failed verification at entry #7" in client.get(reverse("admin:index")).content.decode()

    later = timezone.now()
    LedgerVerification.objects.create(
        started_at=later, finished_at=later, ok=True, entries_checked=6, checkpoints_checked=0
    )
    assert "failed verification" not in client.get(reverse("admin:index")).content.decode()


class TestSigningPage:
    """The reusable signing page, as a domain admin uses it for a transition."""

    @pytest.fixture
    def author_client(self, client: Client, author) -> Client:
        return signed_in(client, author)

    def url(self, memo: Memo) -> str:
        return reverse("admin:governed_app_memo_publish", args=[memo.pk])

    def test_it_shows_the_meaning_and_asks_for_username_and_password_first(self, author_client, memo) -> None:
        page = author_client.get(self.url(memo)).content.decode()

        assert "Published as author" in page
        assert 'name="username"' in page
        assert 'name="password"' in page

    def test_a_wrong_password_is_shown_as_an_error_and_nothing_changes(self, author_client, memo) -> None:
        response = author_client.post(self.url(memo), {"username": "author", "password": "wrong"})

        memo.refresh_from_db()
        assert response.status_code == 403
        assert "Re-authentication failed" in response.content.decode()
        assert memo.status == "draft"
        # The refusal, then the failed re-authentication counted towards the sign-in lockout.
        last_two = [entry.action for entry in LedgerEntry.objects.order_by("-sequence")[:2]]
        assert last_two == [LedgerAction.LOGIN_FAILED, LedgerAction.DENIED]

    def test_a_missing_password_is_a_form_error(self, author_client, memo) -> None:
        response = author_client.post(self.url(memo), {"username": "author"})

        assert response.status_code == 400
        assert "This field is required" in response.content.decode()

    def test_signing_performs_the_transition_and_later_signings_ask_for_the_password_only(
        self, author_client, memo
    ) -> None:
        response = author_client.post(self.url(memo), {"username": "author", "password": PASSWORD})

        memo.refresh_from_db()
        assert response.status_code == 302
        assert memo.status == "published"
        assert Signature.objects.get().meaning == "Published as author"
        assert author_client.session[SIGNING_SESSION_KEY] is True
        other = Memo.objects.create(title="Second memo")
        assert 'name="username"' not in author_client.get(self.url(other)).content.decode()

    def test_a_second_signing_of_a_finished_transition_is_refused(self, author_client, memo) -> None:
        first = author_client.post(self.url(memo), {"username": "author", "password": PASSWORD})
        second = author_client.post(self.url(memo), {"password": PASSWORD})

        assert first.status_code == 302
        assert second.status_code == 403
        assert "Only a draft can be published" in second.content.decode()
        assert Signature.objects.count() == 1


def test_the_checkpoint_key_id_names_the_configured_key() -> None:
    assert len(signing_keys.key_id()) == 16
