"""The policy register: Compliance writes policies and maps them onto the controls of the shipped catalogues."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from accounts.choices import Role
from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from audit.models import LedgerEntry
from governance.catalogue import load_controls
from governance.models import Control, Policy
from governance.services.policies import policy_save
from tests.governance.test_usecases import ledger_of

pytestmark = pytest.mark.django_db

CC17 = {
    "code": "CC-17",
    "title": "Customer communications",
    "text": "Customer-facing answers never expose card data and carry the standard disclaimers.",
    "effective_date": datetime.date(2025, 1, 1),
}


def gdpr(identifier: str) -> Control:
    return Control.objects.get(framework__code="gdpr", identifier=identifier)


@pytest.fixture
def catalogue(db: None) -> None:
    load_controls()


@pytest.fixture
def cc17(catalogue, compliance) -> Policy:
    return policy_save(actor=compliance, controls=[gdpr("Art. 5"), gdpr("Art. 6")], owner=compliance, **CC17)


def test_a_compliance_reviewer_registers_a_policy_mapped_to_gdpr_controls(catalogue, compliance) -> None:
    policy = policy_save(actor=compliance, controls=[gdpr("Art. 5"), gdpr("Art. 6")], owner=compliance, **CC17)

    policy.refresh_from_db()
    assert (policy.code, policy.version, policy.owner) == ("CC-17", "1.0", compliance)
    assert sorted(policy.controls.values_list("identifier", flat=True)) == ["Art. 5", "Art. 6"]
    assert list(gdpr("Art. 5").policies.all()) == [policy]
    created, mapped = ledger_of(policy)
    assert (created.action, created.actor) == (LedgerAction.CREATE, compliance)
    assert created.payload["after"]["code"] == "CC-17"
    assert (mapped.action, mapped.actor) == (LedgerAction.UPDATE, compliance)
    mapping = mapped.payload["changes"]["controls"]
    assert mapping["before"] == []
    assert sorted(row["control"] for row in mapping["after"]) == sorted([gdpr("Art. 5").pk, gdpr("Art. 6").pk])


def test_a_compliance_reviewer_changes_a_policy_and_its_mapping(compliance, cc17) -> None:
    changed = policy_save(actor=compliance, policy=cc17, controls=[gdpr("Art. 5")], version="1.1")

    changed.refresh_from_db()
    assert changed.version == "1.1"
    assert list(changed.controls.values_list("identifier", flat=True)) == ["Art. 5"]
    version_change, mapping_change = ledger_of(cc17)[-2:]
    assert (version_change.action, version_change.actor) == (LedgerAction.UPDATE, compliance)
    assert version_change.payload["changes"] == {"version": {"before": "1.0", "after": "1.1"}}
    assert (mapping_change.action, mapping_change.actor) == (LedgerAction.UPDATE, compliance)
    assert [row["control"] for row in mapping_change.payload["changes"]["controls"]["after"]] == [gdpr("Art. 5").pk]


@pytest.mark.parametrize("role", [Role.RISK_OFFICER, Role.PRODUCT_OWNER, Role.ML_ENGINEER, Role.AUDITOR])
def test_other_roles_cannot_register_a_policy(catalogue, user_in_role, compliance, role: Role) -> None:
    someone = user_in_role(role, username="someone")

    with pytest.raises(ActionDenied):
        policy_save(actor=someone, controls=[gdpr("Art. 5")], owner=compliance, **CC17)

    assert not Policy.objects.exists()
    denial = LedgerEntry.objects.get(action=LedgerAction.DENIED)
    assert (denial.actor, denial.payload["attempted"]) == (someone, "policy_create")


@pytest.mark.parametrize("role", [Role.RISK_OFFICER, Role.PRODUCT_OWNER])
def test_other_roles_cannot_change_a_policy(user_in_role, cc17, role: Role) -> None:
    someone = user_in_role(role, username="someone")

    with pytest.raises(ActionDenied):
        policy_save(actor=someone, policy=cc17, controls=[], title="Weakened")

    cc17.refresh_from_db()
    assert cc17.title == "Customer communications"
    assert cc17.controls.count() == 2
    denial = ledger_of(cc17)[-1]
    assert (denial.action, denial.actor, denial.payload["attempted"]) == (
        LedgerAction.DENIED,
        someone,
        "policy_update",
    )


def test_an_administrator_without_the_role_cannot_register_a_policy(catalogue, admin_user, compliance) -> None:
    with pytest.raises(ActionDenied):
        policy_save(actor=admin_user, controls=[], owner=compliance, **CC17)

    assert not Policy.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("code", "C" * 41), ("title", "T" * 201), ("version", "v" * 21), ("text", ""), ("effective_date", None)],
)
def test_a_malformed_policy_is_refused_and_nothing_is_saved(catalogue, compliance, field, value) -> None:
    fields = {**CC17, field: value}

    with pytest.raises(ValidationError) as raised:
        policy_save(actor=compliance, controls=[gdpr("Art. 5")], owner=compliance, **fields)

    assert field in raised.value.message_dict
    assert not Policy.objects.exists()
    assert not LedgerEntry.objects.filter(object_type="governance.policy").exists()


def test_a_policy_code_is_registered_once(compliance, cc17) -> None:
    with pytest.raises(ValidationError) as raised:
        policy_save(actor=compliance, controls=[], owner=compliance, **{**CC17, "title": "Duplicate"})

    assert "code" in raised.value.message_dict
    assert Policy.objects.count() == 1
