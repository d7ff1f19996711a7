"""A model version whose evidence was changed around the services (found by ``verify_ledger --state``) is not
promoted: the gate names the record and field that differ from the ledger."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, models

from governance.models import ThresholdRule
from lineage.models import DatasetVersion
from registry.choices import Environment
from registry.services.promotion import promotion_check, promotion_problems
from tests.registry.conftest import version
from tests.tampering import triggers_lifted

pytestmark = pytest.mark.django_db


def set_column(model: type[models.Model], column: str, value: object, pk: object) -> None:
    """A plain UPDATE by the application's own database role, around every service."""
    table, column = connection.ops.quote_name(model._meta.db_table), connection.ops.quote_name(column)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, pk])  # noqa: S608


def replay() -> None:
    """``verify_ledger --state``, which exits 1 when rows differ."""
    with pytest.raises(CommandError):
        call_command("verify_ledger", "--state", stdout=StringIO())


def ledger_problems(problems: list[str]) -> list[str]:
    return [problem for problem in problems if "differs from the audit ledger" in problem]


def test_a_version_promoted_through_every_service_replays_clean(world) -> None:
    model_version = world.model()
    world.promote(model_version, Environment.PROD)

    output = StringIO()
    call_command("verify_ledger", "--state", stdout=output)

    assert "governed records agree with it" in output.getvalue()
    assert ledger_problems(promotion_problems(model_version, Environment.DEV)) == []


def test_a_version_whose_dataset_version_was_tampered_fails_its_promotion_check(world) -> None:
    model_version = world.model()
    trained_on = version("support-chats@1")
    assert ledger_problems(promotion_problems(model_version, Environment.DEV)) == []
    set_column(DatasetVersion, "content_digest", "0" * 64, trained_on.pk)

    replay()
    problems, _ticket = promotion_check(model_version, Environment.DEV)

    [problem] = ledger_problems(problems)
    assert f"Evidence of {model_version} differs from the audit ledger" in problem
    assert f"support-chats@1 (lineage.datasetversion #{trained_on.pk}): content_digest is '{'0' * 64}'" in problem


def test_the_threshold_revision_a_gate_was_judged_by_is_part_of_the_evidence(world) -> None:
    model_version = world.model()
    gate = world.gate(model_version)
    rule = ThresholdRule.objects.filter(policy_id=gate.threshold_policy_id).order_by("dimension").first()
    with triggers_lifted(ThresholdRule._meta.db_table):
        set_column(ThresholdRule, "min_pass_rate", str(rule.borderline_band + Decimal(1)), rule.pk)

    replay()

    [problem] = ledger_problems(promotion_problems(model_version, Environment.STAGING, check_ticket=False))
    assert f"content.{rule.dimension}.min_pass_rate" in problem


def test_a_difference_outside_its_evidence_does_not_hold_a_version_back(world) -> None:
    model_version = world.model()
    set_column(DatasetVersion, "content_digest", "0" * 64, version("support-chats@2").pk)

    replay()

    assert ledger_problems(promotion_problems(model_version, Environment.DEV)) == []
