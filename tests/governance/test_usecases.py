"""Use cases are created and changed by Product Owners only, through a service that cleans and validates."""

import pytest
from django.core.exceptions import ValidationError

from accounts.choices import Role
from audit.choices import LedgerAction
from audit.ledger import ActionDenied
from audit.models import LedgerEntry
from governance.choices import EuAiActRiskTier, InternalRiskTier, RegulatedDomain, UseCaseStatus
from governance.models import UseCase
from governance.services.usecases import clean_jurisdictions, use_case_create, use_case_update

pytestmark = pytest.mark.django_db


def use_case_fields(owner, **overrides) -> dict:
    return {
        "name": "Billing assistant",
        "business_objective": "Answer customers' billing questions without exposing card data.",
        "owner": owner,
        "regulated_domain": RegulatedDomain.PAYMENTS,
        "jurisdictions": "eu, uk",
        "eu_ai_act_risk_tier": EuAiActRiskTier.LIMITED,
        "internal_risk_tier": InternalRiskTier.TIER_2,
        **overrides,
    }


def make_use_case(owner, slug: str = "billing-assistant", **overrides) -> UseCase:
    """A use case created the only way there is: by its Product Owner, through the service."""
    return use_case_create(actor=owner, slug=slug, **use_case_fields(owner, **overrides))


def ledger_of(obj) -> list[LedgerEntry]:
    return list(
        LedgerEntry.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk)).order_by("sequence")
    )


@pytest.fixture
def use_case(product_owner) -> UseCase:
    return make_use_case(product_owner)


def test_a_product_owner_creates_a_use_case_and_the_ledger_records_it(product_owner) -> None:
    use_case = make_use_case(product_owner)

    use_case.refresh_from_db()
    assert (use_case.slug, use_case.status, use_case.owner) == (
        "billing-assistant",
        UseCaseStatus.PROPOSED,
        product_owner,
    )
    [entry] = ledger_of(use_case)
    assert (entry.action, entry.actor) == (LedgerAction.CREATE, product_owner)
    assert entry.payload["after"]["name"] == "Billing assistant"
    assert entry.payload["after"]["jurisdictions"] == ["EU", "UK"]


def test_a_product_owner_updates_a_use_case_and_the_ledger_records_the_change(product_owner, use_case) -> None:
    updated = use_case_update(
        use_case=use_case, actor=product_owner, status=UseCaseStatus.ACTIVE, jurisdictions=["uk", "us-ny"]
    )

    updated.refresh_from_db()
    assert (updated.status, updated.jurisdictions) == (UseCaseStatus.ACTIVE, ["UK", "US-NY"])
    entry = ledger_of(use_case)[-1]
    assert (entry.action, entry.actor) == (LedgerAction.UPDATE, product_owner)
    assert entry.payload["changes"]["status"] == {"before": "proposed", "after": "active"}
    assert entry.payload["changes"]["jurisdictions"] == {"before": ["EU", "UK"], "after": ["UK", "US-NY"]}


@pytest.mark.parametrize("role", sorted(set(Role) - {Role.PRODUCT_OWNER}))
def test_only_a_product_owner_may_create_a_use_case(user_in_role, product_owner, role: Role) -> None:
    someone = user_in_role(role, username="someone")

    with pytest.raises(ActionDenied, match="Your roles do not allow this"):
        use_case_create(actor=someone, slug="billing-assistant", **use_case_fields(product_owner))

    assert not UseCase.objects.exists()
    denial = LedgerEntry.objects.get(action=LedgerAction.DENIED)
    assert (denial.actor, denial.payload["attempted"]) == (someone, "use_case_create")


def test_an_administrator_without_the_role_cannot_create_a_use_case(admin_user, product_owner) -> None:
    with pytest.raises(ActionDenied):
        use_case_create(actor=admin_user, slug="billing-assistant", **use_case_fields(product_owner))

    assert not UseCase.objects.exists()
    denial = LedgerEntry.objects.get(action=LedgerAction.DENIED)
    assert (denial.actor, denial.payload["attempted"]) == (admin_user, "use_case_create")


@pytest.mark.parametrize("role", [Role.RISK_OFFICER, Role.ML_ENGINEER, Role.COMPLIANCE_REVIEWER, Role.AUDITOR])
def test_other_roles_cannot_change_a_use_case(user_in_role, use_case, role: Role) -> None:
    someone = user_in_role(role, username="someone")

    with pytest.raises(ActionDenied):
        use_case_update(use_case=use_case, actor=someone, status=UseCaseStatus.RETIRED)

    use_case.refresh_from_db()
    assert use_case.status == UseCaseStatus.PROPOSED
    denial = ledger_of(use_case)[-1]
    assert (denial.action, denial.actor) == (LedgerAction.DENIED, someone)
    assert denial.payload["attempted"] == "use_case_update"


def test_an_administrator_without_the_role_cannot_change_a_use_case(admin_user, use_case) -> None:
    with pytest.raises(ActionDenied):
        use_case_update(use_case=use_case, actor=admin_user, name="Renamed by an administrator")

    use_case.refresh_from_db()
    assert use_case.name == "Billing assistant"
    assert ledger_of(use_case)[-1].action == LedgerAction.DENIED


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("eu, uk", ["EU", "UK"]),
        (" us-ny ,EU,, eu ", ["EU", "US-NY"]),
        (["uk", "Eu"], ["EU", "UK"]),
        ("", []),
    ],
)
def test_jurisdictions_are_stored_as_sorted_upper_case_codes(product_owner, given, stored) -> None:
    use_case = make_use_case(product_owner, jurisdictions=given)

    use_case.refresh_from_db()
    assert use_case.jurisdictions == stored


@pytest.mark.parametrize("given", ["EU; UK", "EU, U K", "EU, ABCDEFGHIJK", ["EU", "<script>"], 42, {"EU": 1}])
def test_malformed_jurisdictions_are_refused_and_nothing_is_saved(product_owner, given) -> None:
    with pytest.raises(ValidationError) as raised:
        make_use_case(product_owner, jurisdictions=given)

    assert "jurisdictions" in raised.value.message_dict
    assert not UseCase.objects.exists()
    assert not LedgerEntry.objects.filter(object_type="governance.usecase").exists()


def test_the_message_names_the_bad_codes() -> None:
    with pytest.raises(ValidationError, match="Not a jurisdiction code: EU;UK"):
        clean_jurisdictions("EU;UK, FR")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "N" * 201),
        ("slug", "s" * 81),
        ("slug", "not a slug"),
        ("regulated_domain", "casino"),
        ("eu_ai_act_risk_tier", "catastrophic"),
        ("business_objective", ""),
    ],
)
def test_oversized_or_invalid_fields_are_refused_and_nothing_is_saved(product_owner, field, value) -> None:
    fields = {"slug": "billing-assistant", **use_case_fields(product_owner), field: value}

    with pytest.raises(ValidationError) as raised:
        use_case_create(actor=product_owner, **fields)

    assert field in raised.value.message_dict
    assert not UseCase.objects.exists()
    assert not LedgerEntry.objects.filter(object_type="governance.usecase").exists()


def test_a_duplicate_slug_is_refused(product_owner, use_case) -> None:
    with pytest.raises(ValidationError) as raised:
        make_use_case(product_owner, name="Another assistant")

    assert "slug" in raised.value.message_dict
    assert UseCase.objects.count() == 1


def test_an_oversized_update_changes_nothing(product_owner, use_case) -> None:
    entries_before = len(ledger_of(use_case))

    with pytest.raises(ValidationError) as raised:
        use_case_update(use_case=use_case, actor=product_owner, name="N" * 201, status=UseCaseStatus.ACTIVE)

    assert "name" in raised.value.message_dict
    use_case.refresh_from_db()
    assert (use_case.name, use_case.status) == ("Billing assistant", UseCaseStatus.PROPOSED)
    assert len(ledger_of(use_case)) == entries_before


def test_the_slug_and_other_unlisted_fields_cannot_be_changed(product_owner, use_case) -> None:
    with pytest.raises(ValidationError, match="cannot be changed here: id, slug"):
        use_case_update(use_case=use_case, actor=product_owner, slug="renamed", id=999)

    use_case.refresh_from_db()
    assert use_case.slug == "billing-assistant"
