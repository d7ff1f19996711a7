"""The audit trail and the ledger browser speak of people, records and states by name, and the ledger's search finds
records by label or human ID and people by name in a number of queries that does not grow with the ledger."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from audit import ledger
from audit.choices import LedgerAction
from audit.readable import actor_display, readable_entries
from governance.models import Policy
from governance.services.policies import policy_save
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db

LEDGER = "admin:audit_ledgerentry_changelist"


def person(username: str, first: str, last: str):
    return get_user_model().objects.create_user(username=username, first_name=first, last_name=last)


def policy_owned_by(owner, code: str, actor) -> Policy:
    return policy_save(
        actor=actor,
        controls=[],
        code=code,
        title=f"Policy {code}",
        text="Text.",
        owner=owner,
        effective_date=datetime.date(2026, 1, 1),
    )


def test_a_changed_foreign_key_reads_as_the_names_of_the_people_not_their_ids(user_in_role) -> None:
    compliance = user_in_role(Role.COMPLIANCE_REVIEWER)
    dana, erik = person("dana", "Dana", "Galloway"), person("erik", "Erik", "Nyberg")
    policy = policy_owned_by(dana, "CC-1", compliance)
    policy_save(actor=compliance, controls=[], policy=policy, owner=erik)

    entry = ledger_entries_about(policy)[0]
    (readable,) = readable_entries([entry])

    assert readable.lines == ["owner: Dana Galloway → Erik Nyberg"]
    assert readable.object_type_name == "policy"


def test_a_transition_reads_as_the_states_labels() -> None:
    entry = ledger.append(
        action=LedgerAction.TRANSITION,
        object_type="lineage.datasetversion",
        object_id="1",
        payload={"transition": "approve", "field": "state", "source": "compliance_review", "target": "approved"},
        actor_name="t",
    )

    (readable,) = readable_entries([entry])

    assert readable.lines == ["state: Compliance review → Approved for training"]


def test_labels_of_a_page_of_entries_cost_one_query_per_related_table_whatever_the_number_of_entries() -> None:
    people = [person(f"p{number}", "Person", f"Number{number}") for number in range(12)]

    def entries(count: int) -> list:
        return [
            ledger.append(
                action=LedgerAction.UPDATE,
                object_type="lineage.datasetversion",
                object_id=str(number),
                payload={"changes": {"submitted_by": {"before": None, "after": people[number].pk}}},
                actor_name="t",
            )
            for number in range(count)
        ]

    few, many = entries(2), entries(12)
    with CaptureQueriesContext(connection) as for_few:
        readable_entries(few)
    with CaptureQueriesContext(connection) as for_many:
        lines = [readable.lines for readable in readable_entries(many)]

    assert len(for_many) == len(for_few) == 1
    assert lines[11] == ["submitted by: \u2013 → Person Number11"]


def test_the_stored_actor_reads_as_the_persons_name() -> None:
    assert actor_display("dana (Dana Galloway)") == "Dana Galloway"
    assert actor_display("system:nightly") == "system:nightly"


def ledger_entries_about(record) -> list:
    from audit.models import LedgerEntry

    return list(
        LedgerEntry.objects.filter(object_type="governance.policy", object_id=str(record.pk)).order_by("-sequence")
    )


class TestLedgerSearch:
    @pytest.fixture
    def auditor_client(self, client: Client, auditor) -> Client:
        login_verified(client, auditor)
        return client

    def test_a_persons_name_finds_what_they_did_and_what_was_done_to_them(self, auditor_client, user_in_role) -> None:
        dana, erik = person("dana", "Dana", "Galloway"), person("erik", "Erik", "Nyberg")
        ledger.append(action=LedgerAction.EXPORT, object_label="by dana", actor=dana)
        ledger.append(action=LedgerAction.EXPORT, object_label="by erik", actor=erik)
        ledger.append(action=LedgerAction.UPDATE, obj=dana, object_label="dana's account", actor=erik)

        page = auditor_client.get(reverse(LEDGER), {"q": "dana galloway"}).content.decode()

        assert "by dana" in page
        assert "dana&#x27;s account" in page
        assert "by erik" not in page

    def test_a_records_label_finds_its_entries_through_its_own_table(self, auditor_client, user_in_role) -> None:
        compliance = user_in_role(Role.COMPLIANCE_REVIEWER)
        owner = person("owner", "Olga", "Owner")
        wanted, other = policy_owned_by(owner, "CC-17", compliance), policy_owned_by(owner, "WM-04", compliance)

        page = auditor_client.get(reverse(LEDGER), {"q": "CC-17"}).content.decode()
        start = page.index('id="result_list"')
        results = page[start : page.index("</table>", start)]

        assert str(wanted) in results
        assert str(other) not in results
        assert "governance.policy" not in results

    def test_searching_costs_the_same_number_of_queries_on_a_longer_ledger(self, auditor_client, user_in_role) -> None:
        compliance = user_in_role(Role.COMPLIANCE_REVIEWER)
        owner = person("owner", "Olga", "Owner")
        policy = policy_owned_by(owner, "CC-17", compliance)

        def queries() -> int:
            with CaptureQueriesContext(connection) as captured:
                response = auditor_client.get(reverse(LEDGER), {"q": "Olga Owner"})
            assert response.status_code == 200
            return len(captured)

        short = queries()
        for number in range(40):
            ledger.append(action=LedgerAction.UPDATE, obj=policy, object_label=f"change {number}", actor=owner)
        assert queries() == short

    @pytest.mark.parametrize("term", ["%", "_", "x" * 5000, "' OR 1=1 --", "@", ":"])
    def test_a_malformed_or_oversized_term_finds_nothing_and_errs_nowhere(self, auditor_client, term) -> None:
        ledger.append(action=LedgerAction.EXPORT, object_label="an export", actor_name="t")

        response = auditor_client.get(reverse(LEDGER), {"q": term})

        assert response.status_code == 200
        assert "an export" not in response.content.decode()

    def test_people_without_an_audit_role_cannot_search_the_ledger(self, client: Client, user_in_role) -> None:
        login_verified(client, user_in_role(Role.ML_ENGINEER))

        response = client.get(reverse(LEDGER), {"q": "Dana"})

        assert response.status_code == 403
