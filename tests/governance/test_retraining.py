"""Retraining cadence: set by a Risk Officer, flagged when due (on schedule or on an event), cleared on retraining,
and shown to Risk Officers on their landing page."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from audit.models import LedgerEntry
from governance.choices import RetrainingSchedule, RetrainingTrigger
from governance.models import RetrainingCadence
from governance.services.retraining import (
    SCHEDULER,
    retraining_cadence_set,
    retraining_completed,
    retraining_flag_due,
    retraining_trigger_event,
)
from governance.tasks import flag_due_retraining
from tests.governance.test_usecases import ledger_of, make_use_case
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db

PIPELINE = "service:training-pipeline"


@pytest.fixture
def use_case(product_owner):
    return make_use_case(product_owner)


@pytest.fixture
def now() -> datetime.datetime:
    return timezone.now()


def retrained(use_case, risk, when: datetime.datetime, schedule=RetrainingSchedule.QUARTERLY, triggers=()):
    retraining_cadence_set(use_case=use_case, actor=risk, schedule=schedule, triggers=list(triggers))
    return retraining_completed(use_case=use_case, retrained_at=when, actor_name=PIPELINE)


def test_a_risk_officer_sets_the_cadence_and_the_ledger_records_it(use_case, risk) -> None:
    cadence = retraining_cadence_set(
        use_case=use_case,
        actor=risk,
        schedule=RetrainingSchedule.QUARTERLY,
        triggers=[RetrainingTrigger.POLICY_CHANGE, RetrainingTrigger.INCIDENT, RetrainingTrigger.INCIDENT],
    )

    cadence.refresh_from_db()
    assert (cadence.schedule, cadence.triggers) == ("quarterly", ["incident", "policy_change"])
    assert cadence.due_since is None
    [entry] = ledger_of(cadence)
    assert (entry.action, entry.actor) == (LedgerAction.CREATE, risk)
    assert entry.payload["after"]["schedule"] == "quarterly"


def test_changing_the_cadence_updates_it_and_setting_the_same_again_writes_nothing(use_case, risk) -> None:
    retraining_cadence_set(use_case=use_case, actor=risk, schedule=RetrainingSchedule.QUARTERLY, triggers=[])
    cadence = retraining_cadence_set(
        use_case=use_case, actor=risk, schedule=RetrainingSchedule.MONTHLY, triggers=[RetrainingTrigger.INCIDENT]
    )
    entries = ledger_of(cadence)

    retraining_cadence_set(
        use_case=use_case, actor=risk, schedule=RetrainingSchedule.MONTHLY, triggers=[RetrainingTrigger.INCIDENT]
    )

    assert RetrainingCadence.objects.count() == 1
    assert [e.action for e in entries] == [LedgerAction.CREATE, LedgerAction.UPDATE]
    assert entries[-1].payload["changes"]["schedule"] == {"before": "quarterly", "after": "monthly"}
    assert ledger_of(cadence) == entries


@pytest.mark.parametrize("role", [Role.PRODUCT_OWNER, Role.ML_ENGINEER, Role.COMPLIANCE_REVIEWER, Role.AUDITOR])
def test_only_a_risk_officer_sets_the_cadence(user_in_role, use_case, role: Role) -> None:
    someone = user_in_role(role, username="someone")

    with pytest.raises(ActionDenied):
        retraining_cadence_set(use_case=use_case, actor=someone, schedule=RetrainingSchedule.ANNUAL, triggers=[])

    assert not RetrainingCadence.objects.exists()
    denial = ledger_of(use_case)[-1]
    assert (denial.action, denial.actor, denial.payload["attempted"]) == (
        LedgerAction.DENIED,
        someone,
        "retraining_cadence_set",
    )


@pytest.mark.parametrize(
    ("schedule", "triggers", "field"),
    [("fortnightly", [], "schedule"), (RetrainingSchedule.ANNUAL, ["incident", "full_moon"], "triggers")],
)
def test_an_unknown_schedule_or_trigger_is_refused(use_case, risk, schedule, triggers, field) -> None:
    with pytest.raises(ValidationError) as raised:
        retraining_cadence_set(use_case=use_case, actor=risk, schedule=schedule, triggers=triggers)

    assert field in raised.value.message_dict
    assert not RetrainingCadence.objects.exists()


def test_a_quarterly_cadence_retrained_100_days_ago_is_flagged_and_one_retrained_10_days_ago_is_not(
    product_owner, use_case, risk, now
) -> None:
    overdue = retrained(use_case, risk, now - datetime.timedelta(days=100))
    fresh_use_case = make_use_case(product_owner, slug="collections-assistant", name="Collections assistant")
    fresh = retrained(fresh_use_case, risk, now - datetime.timedelta(days=10))

    flagged = retraining_flag_due(now=now)

    assert flagged == [overdue]
    overdue.refresh_from_db()
    fresh.refresh_from_db()
    due_at = overdue.last_retrained_at + datetime.timedelta(days=91)
    assert overdue.due_since == now
    assert overdue.due_reason == f"Quarterly retraining due since {due_at:%Y-%m-%d}"
    assert fresh.due_since is None
    flag = ledger_of(overdue)[-1]
    assert (flag.action, flag.actor, flag.actor_name) == (LedgerAction.UPDATE, None, SCHEDULER)
    assert flag.payload["changes"]["due_reason"]["after"] == overdue.due_reason
    assert ledger_of(fresh)[-1].actor_name == PIPELINE


def test_flagging_twice_flags_once(use_case, risk, now) -> None:
    cadence = retrained(use_case, risk, now - datetime.timedelta(days=100))
    retraining_flag_due(now=now)
    entries = ledger_of(cadence)

    again = retraining_flag_due(now=now + datetime.timedelta(days=1))

    assert again == []
    cadence.refresh_from_db()
    assert cadence.due_since == now
    assert ledger_of(cadence) == entries


@pytest.mark.parametrize(
    ("schedule", "days_ago", "due"),
    [
        (RetrainingSchedule.MONTHLY, 31, True),
        (RetrainingSchedule.MONTHLY, 29, False),
        (RetrainingSchedule.SEMIANNUAL, 183, True),
        (RetrainingSchedule.ANNUAL, 300, False),
        (RetrainingSchedule.EVENTS_ONLY, 1000, False),
    ],
)
def test_each_schedule_comes_due_after_its_interval(use_case, risk, now, schedule, days_ago, due) -> None:
    retrained(use_case, risk, now - datetime.timedelta(days=days_ago), schedule=schedule)

    assert bool(retraining_flag_due(now=now)) is due


def test_a_cadence_never_retrained_is_not_flagged_by_the_schedule(use_case, risk, now) -> None:
    retraining_cadence_set(use_case=use_case, actor=risk, schedule=RetrainingSchedule.MONTHLY, triggers=[])

    assert retraining_flag_due(now=now) == []


def test_an_event_flags_only_use_cases_listening_for_it(product_owner, use_case, risk) -> None:
    listening = retrained(use_case, risk, timezone.now(), triggers=[RetrainingTrigger.POLICY_CHANGE])
    deaf_use_case = make_use_case(product_owner, slug="collections-assistant", name="Collections assistant")
    deaf = retrained(deaf_use_case, risk, timezone.now(), triggers=[RetrainingTrigger.INCIDENT])

    assert retraining_trigger_event(use_case=use_case, trigger=RetrainingTrigger.POLICY_CHANGE, detail="CC-17 v1.1")
    assert not retraining_trigger_event(
        use_case=deaf_use_case, trigger=RetrainingTrigger.POLICY_CHANGE, detail="CC-17 v1.1"
    )

    listening.refresh_from_db()
    deaf.refresh_from_db()
    assert listening.due_reason == "Policy change: CC-17 v1.1"
    assert listening.due_since is not None
    assert deaf.due_since is None
    flag = ledger_of(listening)[-1]
    assert (flag.action, flag.actor_name) == (LedgerAction.UPDATE, SCHEDULER)
    assert ledger_of(deaf)[-1].payload["changes"].keys() == {"last_retrained_at"}


def test_an_event_on_an_already_flagged_use_case_keeps_the_first_reason(use_case, risk) -> None:
    cadence = retrained(use_case, risk, timezone.now(), triggers=["incident", "erasure_request"])
    retraining_trigger_event(use_case=use_case, trigger=RetrainingTrigger.INCIDENT, detail="INC-42")

    assert not retraining_trigger_event(use_case=use_case, trigger=RetrainingTrigger.ERASURE_REQUEST, detail="DSR-7")

    cadence.refresh_from_db()
    assert cadence.due_reason == "Incident: INC-42"


def test_an_event_for_a_use_case_without_a_cadence_flags_nothing(use_case) -> None:
    assert not retraining_trigger_event(use_case=use_case, trigger=RetrainingTrigger.INCIDENT, detail="INC-1")
    assert not RetrainingCadence.objects.exists()


def test_an_unknown_event_is_refused(use_case, risk) -> None:
    retrained(use_case, risk, timezone.now(), triggers=[RetrainingTrigger.INCIDENT])

    with pytest.raises(ValidationError, match="Unknown trigger event 'solar_flare'"):
        retraining_trigger_event(use_case=use_case, trigger="solar_flare", detail="?")


def test_a_completed_retraining_clears_the_flag_and_restarts_the_clock(use_case, risk, now) -> None:
    cadence = retrained(use_case, risk, now - datetime.timedelta(days=100))
    retraining_flag_due(now=now)

    cleared = retraining_completed(use_case=use_case, retrained_at=now, actor_name=PIPELINE)

    cleared.refresh_from_db()
    assert (cleared.due_since, cleared.due_reason, cleared.last_retrained_at) == (None, "", now)
    assert retraining_flag_due(now=now + datetime.timedelta(days=1)) == []
    entry = ledger_of(cadence)[-1]
    assert (entry.action, entry.actor, entry.actor_name) == (LedgerAction.UPDATE, None, PIPELINE)
    assert entry.payload["changes"]["due_since"]["after"] is None


def test_the_scheduled_task_returns_the_slugs_it_flagged(product_owner, use_case, risk) -> None:
    retrained(use_case, risk, timezone.now() - datetime.timedelta(days=100))
    other = make_use_case(product_owner, slug="collections-assistant", name="Collections assistant")
    retrained(other, risk, timezone.now() - datetime.timedelta(days=10))

    assert flag_due_retraining.delay().get() == ["billing-assistant"]
    assert flag_due_retraining.delay().get() == []
    assert LedgerEntry.objects.filter(actor_name=SCHEDULER).count() == 1


def test_a_flagged_use_case_waits_on_the_risk_officers_landing_page(
    client: Client, product_owner, use_case, risk, now
) -> None:
    cadence = retrained(use_case, risk, now - datetime.timedelta(days=100))
    retraining_flag_due(now=now)
    cadence.refresh_from_db()

    login_verified(client, risk)
    page = client.get(reverse("admin:index")).content.decode()

    assert "Use cases due for retraining" in page
    assert f"Billing assistant: {cadence.due_reason}" in page
    assert reverse("admin:governance_usecase_change", args=[use_case.pk]) in page
    login_verified(client, product_owner)
    assert "Use cases due for retraining" not in client.get(reverse("admin:index")).content.decode()


def test_nothing_is_listed_for_retraining_before_anything_is_due(client: Client, use_case, risk, now) -> None:
    retrained(use_case, risk, now - datetime.timedelta(days=10))
    retraining_flag_due(now=now)

    login_verified(client, risk)
    page = client.get(reverse("admin:index")).content.decode()

    assert "Billing assistant:" not in page
