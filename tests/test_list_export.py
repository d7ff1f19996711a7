"""CSV export of the admin's change lists: the rows the list shows under its filters, search and ordering (all
pages), its columns in words, only for people who may view the rows, recorded, and safe to open in a spreadsheet."""

import csv
import io
import itertools

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from audit import ledger
from audit.admin.export import FORMULA_PREFIXES, ListExportMixin, neutralise_formula
from audit.choices import AccessKind, LedgerAction
from audit.models import AccessEvent, LedgerEntry
from lineage.choices import DatasetVersionState
from lineage.models import DatasetVersion
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db

LEDGER_EXPORT = "admin:audit_ledgerentry_export_csv"
_readers = itertools.count()


def signed_in(client: Client, user) -> Client:
    login_verified(client, user)
    return client


def exported(client: Client, url_name: str, params: dict | None = None) -> list[list[str]]:
    response = client.get(reverse(url_name), params or {})
    assert response.status_code == 200, response
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def append_entries(count: int, *, action: LedgerAction = LedgerAction.DOWNLOAD, label: str = "pack") -> None:
    for number in range(count):
        ledger.append(action=action, object_label=f"{label} {number}", object_id=str(number), actor_name="t")


def test_the_export_holds_every_filtered_row_of_all_pages_in_the_lists_order(client: Client, auditor) -> None:
    append_entries(130)  # the ledger shows 100 a page
    append_entries(3, action=LedgerAction.EXPORT, label="slice")
    rows = exported(signed_in(client, auditor), LEDGER_EXPORT, {"action__exact": "download", "p": "1"})

    header, body = rows[0], rows[1:]
    assert header == ["sequence", "when (UTC)", "actor", "action", "object", "entry hash"]
    assert len(body) == 130
    assert {row[3] for row in body} == {"Download"}  # the choice's label, not its stored value
    sequences = [int(row[0]) for row in body]
    assert sequences == sorted(sequences, reverse=True)  # the list's default ordering: newest first
    assert body[0][4] == "pack 129"  # the object column's words, without its markup

    ascending = exported(client, LEDGER_EXPORT, {"action__exact": "download", "o": "1"})[1:]
    assert [int(row[0]) for row in ascending] == sorted(sequences)


def test_the_export_follows_the_lists_search(client: Client, auditor) -> None:
    append_entries(5)
    body = exported(signed_in(client, auditor), LEDGER_EXPORT, {"q": "3"})[1:]
    assert [row[4] for row in body] == ["pack 3"]


def test_related_rows_are_named_and_choices_read_as_labels(client: Client, auditor) -> None:
    from audit.access import access_record

    access_record(user=auditor, kind=AccessKind.VIEW_AUDIT_TRAIL, object_type="lineage.dataset", object_label="x")
    rows = exported(
        signed_in(client, auditor), "admin:audit_accessevent_export_csv", {"kind__exact": "view_audit_trail"}
    )
    assert rows[0] == ["occurred at (UTC)", "user", "kind", "object type", "object"]
    assert [row[1:] for row in rows[1:]] == [["auditor", "Viewed audit trail", "lineage.dataset", "x"]]


def test_each_export_is_an_access_event_in_the_ledger_naming_list_filters_and_rows(client: Client, auditor) -> None:
    append_entries(4)
    body = exported(signed_in(client, auditor), LEDGER_EXPORT, {"action__exact": "download"})[1:]

    event = AccessEvent.objects.get(kind=AccessKind.EXPORT)
    entry = LedgerEntry.objects.order_by("-sequence").first()
    assert (event.user, event.object_type, event.object_label) == (auditor, "audit.ledgerentry", "audit ledger (CSV)")
    expected = {"list": "audit.ledgerentry", "filters": {"action__exact": "download"}, "rows": 4, "format": "csv"}
    assert event.detail == expected
    assert (entry.action, entry.actor) == (LedgerAction.EXPORT, auditor)
    assert entry.payload == {"access_event": event.pk, **expected}
    # The list as it stood when asked for: the export's own ledger entry is not in it.
    assert len(body) == 4
    assert entry.sequence not in {int(row[0]) for row in body}


def test_people_who_may_not_view_the_rows_are_refused_and_the_refusal_recorded(client: Client, user_in_role) -> None:
    engineer = user_in_role(Role.ML_ENGINEER)
    response = signed_in(client, engineer).get(reverse(LEDGER_EXPORT))

    assert response.status_code == 403
    denial = LedgerEntry.objects.order_by("-sequence").first()
    assert (denial.action, denial.actor) == (LedgerAction.DENIED, engineer)
    assert denial.payload == {"attempted": "export audit.ledgerentry as CSV", "reason": "may not view this list"}
    assert not AccessEvent.objects.filter(kind=AccessKind.EXPORT).exists()


def test_filters_the_list_does_not_know_get_a_clear_error_and_nothing_is_exported(client: Client, auditor) -> None:
    response = signed_in(client, auditor).get(reverse(LEDGER_EXPORT), {"recorded_at__gte": "not a date"})

    assert response.status_code == 400
    assert "filters do not apply" in response.content.decode()
    assert not AccessEvent.objects.filter(kind=AccessKind.EXPORT).exists()


def test_people_not_signed_in_are_sent_to_sign_in_and_nothing_is_exported(client: Client) -> None:
    response = client.get(reverse(LEDGER_EXPORT))
    assert response.status_code == 302
    assert "/login/" in response["Location"]
    assert not AccessEvent.objects.exists()


@pytest.mark.parametrize("prefix", FORMULA_PREFIXES)
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_kept_as_text(prefix: str) -> None:
    assert neutralise_formula(f"{prefix}1+1") == f"'{prefix}1+1"
    assert neutralise_formula(f"a{prefix}1") == f"a{prefix}1"


def test_formulas_written_into_records_are_neutralised_in_the_file(client: Client, auditor) -> None:
    for label in ('=HYPERLINK("http://evil.example","x")', "+cmd", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        ledger.append(action=LedgerAction.DOWNLOAD, object_label=label, actor_name="=evil()")
    body = exported(signed_in(client, auditor), LEDGER_EXPORT, {"action__exact": "download"})[1:]

    assert {row[2] for row in body} == {"'=evil()"}
    assert all(row[4].startswith("'") for row in body)


@pytest.mark.parametrize(
    ("url_name", "make_rows"),
    [
        (LEDGER_EXPORT, append_entries),
        (
            "admin:audit_accessevent_export_csv",
            lambda count: [_access_event() for _ in range(count)],
        ),
    ],
)
def test_the_export_runs_a_constant_number_of_queries_whatever_the_number_of_rows(
    client: Client, auditor, url_name: str, make_rows
) -> None:
    signed_in(client, auditor)

    def queries_for_export() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            rows = exported(client, url_name)
        return len(captured), len(rows)

    make_rows(3)
    few, few_rows = queries_for_export()
    make_rows(400)
    many, many_rows = queries_for_export()
    assert many_rows >= few_rows + 400
    assert many == few


def _access_event() -> AccessEvent:
    """An access event by a person of its own, so that each row names a different related user."""
    from django.contrib.auth import get_user_model

    from audit.access import access_record

    user = get_user_model().objects.create_user(username=f"reader-{next(_readers)}", password="x")
    return access_record(user=user, kind=AccessKind.VIEW_AUDIT_TRAIL, object_type="t", object_label=user.username)


def test_the_change_list_offers_export_csv_carrying_its_current_filters(client: Client, auditor) -> None:
    page = signed_in(client, auditor).get(reverse("admin:audit_ledgerentry_changelist"), {"action__exact": "download"})
    assert f'href="{reverse(LEDGER_EXPORT)}?action__exact=download"' in page.content.decode()


def test_every_list_of_the_governed_apps_exports(client: Client, demo_lineage, admin_user) -> None:
    signed_in(client, admin_user)
    governed_apps = {"accounts", "audit", "governance", "lineage", "registry", "evidence", "inference", "webhooks"}
    admins = [
        model_admin for model, model_admin in admin.site._registry.items() if model._meta.app_label in governed_apps
    ]
    assert {model_admin.opts.app_label for model_admin in admins} == governed_apps
    assert all(isinstance(model_admin, ListExportMixin) for model_admin in admins)

    for model_admin in admins:
        info = model_admin.opts.app_label, model_admin.opts.model_name
        rows = exported(client, "admin:{}_{}_export_csv".format(*info))
        assert len(rows[0]) >= 1, info


def test_a_reviewer_exports_dataset_versions_filtered_by_state_with_state_labels(client: Client, demo_lineage) -> None:
    legal = demo_lineage["legal"]
    in_review = DatasetVersion.objects.filter(state=DatasetVersionState.LEGAL_REVIEW)
    rows = exported(
        signed_in(client, legal), "admin:lineage_datasetversion_export_csv", {"state__exact": "legal_review"}
    )

    assert rows[0][:3] == ["dataset version", "state", "rows"]
    assert sorted(row[0] for row in rows[1:]) == sorted(str(version) for version in in_review)
    assert {row[1] for row in rows[1:]} == {DatasetVersionState.LEGAL_REVIEW.label}
