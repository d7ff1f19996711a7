"""The governance admin pages, through the test client: the RACI grid, thresholds, approve / reject, and the
requirements submit / sign / return pages."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.choices import Role
from audit.models import LedgerEntry, Signature
from governance.admin.usecases import cell_name
from governance.choices import EvaluationDimension, LifecycleStage, RequirementsState, RevisionState
from governance.models import RaciMatrix, ThresholdPolicy
from governance.services.raci import raci_revision_propose
from governance.services.requirements import constraint_save, requirements_create, requirements_submit
from governance.services.revisions import revision_approve
from governance.services.thresholds import PLAYBOOK_DEFAULTS, RuleInput, threshold_revision_propose
from tests.governance.conftest import PASSWORD
from tests.governance.test_raci import approved_raci, signatures_on, valid_grid
from tests.governance.test_usecases import make_use_case
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db

CELLS = len(LifecycleStage) * len(Role)


def signed_in(client: Client, user) -> Client:
    login_verified(client, user)
    return client


def raci_post(grid: dict, rationale: str = "Initial RACI.") -> dict[str, str]:
    data = {cell_name(stage, role): "" for stage in LifecycleStage.values for role in Role.values}
    data.update({cell_name(stage, role): letter for (stage, role), letter in grid.items()})
    return {**data, "rationale": rationale}


def thresholds_post(rationale: str = "Playbook bars.", **overrides: tuple[str, str, str]) -> dict[str, str]:
    data = {"rationale": rationale}
    for dimension, (rate, band, scope) in {**PLAYBOOK_DEFAULTS, **overrides}.items():
        data.update({f"{dimension}__rate": rate, f"{dimension}__band": band, f"{dimension}__scope": scope})
    return data


@pytest.fixture
def drafter(user_in_role):
    return user_in_role(Role.ML_ENGINEER, username="ml")


@pytest.fixture
def use_case(product_owner):
    return make_use_case(product_owner)


@pytest.fixture
def raci_url(use_case) -> str:
    return reverse("admin:governance_usecase_raci", args=[use_case.pk])


@pytest.fixture
def thresholds_url(use_case) -> str:
    return reverse("admin:governance_usecase_thresholds", args=[use_case.pk])


@pytest.fixture
def pending_raci(use_case, risk) -> RaciMatrix:
    return raci_revision_propose(use_case=use_case, actor=risk, grid=valid_grid(), rationale="Initial RACI.")


# RACI grid page


def test_a_risk_officer_sees_one_select_per_stage_and_function(client: Client, risk, raci_url) -> None:
    response = signed_in(client, risk).get(raci_url)

    page = response.content.decode()
    assert response.status_code == 200
    assert page.count("<select") == CELLS == 63
    assert f'name="{cell_name("requirements", "Product Owner")}"' in page
    assert "No RACI is in effect yet" in page
    assert "Propose revision" in page


def test_the_grid_starts_from_the_effective_raci(client: Client, use_case, risk, second_risk, raci_url) -> None:
    approved_raci(use_case, risk, second_risk)

    response = signed_in(client, risk).get(raci_url)

    form = response.context["form"]
    assert form[cell_name("requirements", "Product Owner")].value() == "A"
    assert "In effect: revision 1" in response.content.decode()


def test_an_auditor_reads_the_grid_without_selects(client: Client, use_case, risk, second_risk, auditor, raci_url):
    approved_raci(use_case, risk, second_risk)

    response = signed_in(client, auditor).get(raci_url)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<select" not in page
    assert "Propose revision" not in page
    assert page.count("<td>A</td>") == len(LifecycleStage)


def test_an_auditor_cannot_post_a_grid(client: Client, auditor, raci_url) -> None:
    response = signed_in(client, auditor).post(raci_url, raci_post(valid_grid()))

    assert response.status_code == 403
    assert not RaciMatrix.objects.exists()


def test_a_grid_with_two_accountables_is_refused_with_400_and_nothing_is_created(
    client: Client, risk, raci_url
) -> None:
    grid = {**valid_grid(), ("evaluation", Role.PRODUCT_OWNER.value): "A"}

    response = signed_in(client, risk).post(raci_url, raci_post(grid))

    page = response.content.decode()
    assert response.status_code == 400
    assert "needs exactly one Accountable" in page
    assert "found 2: Risk Officer, Product Owner" in page
    assert 'data-stage="evaluation"' in page
    assert not RaciMatrix.objects.exists()
    assert not LedgerEntry.objects.filter(object_type="governance.racimatrix").exists()


def test_a_grid_without_an_accountable_is_shown_again_with_the_stage_marked(client: Client, risk, raci_url) -> None:
    grid = {key: letter for key, letter in valid_grid().items() if not (key[0] == "data" and letter == "A")}

    response = signed_in(client, risk).post(raci_url, raci_post(grid))

    page = response.content.decode()
    assert response.status_code == 400
    assert "needs exactly one Accountable" in page
    assert "Nothing was saved" in page
    assert page.count("<select") == CELLS
    assert not RaciMatrix.objects.exists()
    assert not LedgerEntry.objects.filter(object_type="governance.racimatrix").exists()


def test_a_grid_without_a_rationale_is_refused(client: Client, risk, raci_url) -> None:
    response = signed_in(client, risk).post(raci_url, raci_post(valid_grid(), rationale=""))

    assert response.status_code == 400
    assert not RaciMatrix.objects.exists()


def test_a_valid_grid_creates_a_pending_revision_and_redirects(client: Client, use_case, risk, raci_url) -> None:
    response = signed_in(client, risk).post(raci_url, raci_post(valid_grid()))

    assert response.status_code == 302
    assert response["Location"] == raci_url
    matrix = RaciMatrix.objects.get()
    assert (matrix.use_case, matrix.state, matrix.proposed_by) == (use_case, RevisionState.PENDING, risk)
    assert matrix.grid() == valid_grid()
    page = client.get(raci_url).content.decode()
    assert "RACI revision 1 proposed" in page
    assert "is pending approval" in page


def test_a_second_grid_while_one_is_pending_is_refused_with_409(
    client: Client, second_risk, pending_raci, raci_url
) -> None:
    response = signed_in(client, second_risk).post(raci_url, raci_post(valid_grid()))

    assert response.status_code == 409
    assert "already pending approval" in response.content.decode()
    assert RaciMatrix.objects.count() == 1


# Thresholds pages


def test_a_risk_officer_proposes_thresholds_on_the_use_case_page(
    client: Client, use_case, risk, thresholds_url
) -> None:
    signed_in(client, risk)
    assert client.get(thresholds_url).status_code == 200

    response = client.post(thresholds_url, thresholds_post())

    assert response.status_code == 302
    policy = ThresholdPolicy.objects.get()
    assert (policy.use_case, policy.state, policy.proposed_by) == (use_case, RevisionState.PENDING, risk)
    assert policy.rules.count() == len(EvaluationDimension)


def test_a_band_above_the_rate_is_shown_again_with_the_message(client: Client, risk, thresholds_url) -> None:
    data = thresholds_post(safety=("90", "95", "prohibited-topic refusals"))

    response = signed_in(client, risk).post(thresholds_url, data)

    assert response.status_code == 400
    assert "Safety: the borderline band cannot exceed the pass rate." in response.content.decode()
    assert not ThresholdPolicy.objects.exists()


@pytest.mark.parametrize("rate", ["101", "-1", "ninety"])
def test_a_rate_outside_0_to_100_or_not_a_number_is_refused(client: Client, risk, thresholds_url, rate) -> None:
    response = signed_in(client, risk).post(thresholds_url, thresholds_post(tone=(rate, "0", "")))

    assert response.status_code == 400
    assert "Nothing was saved" in response.content.decode()
    assert not ThresholdPolicy.objects.exists()


def test_an_auditor_reads_thresholds_but_cannot_propose(client: Client, auditor, thresholds_url) -> None:
    signed_in(client, auditor)

    page = client.get(thresholds_url).content.decode()
    response = client.post(thresholds_url, thresholds_post())

    assert 'name="safety__rate"' not in page
    assert "Propose revision" not in page
    assert response.status_code == 403
    assert not ThresholdPolicy.objects.exists()


def test_the_organisation_default_page_proposes_a_default(client: Client, risk, use_case, thresholds_url) -> None:
    default_url = reverse("admin:governance_thresholdpolicy_default")
    signed_in(client, risk)

    response = client.post(default_url, thresholds_post(rationale="Organisation default."))

    assert response.status_code == 302
    policy = ThresholdPolicy.objects.get()
    assert (policy.use_case, policy.state) == (None, RevisionState.PENDING)
    assert "organisation default" in client.get(default_url).content.decode()


def test_a_use_case_without_its_own_thresholds_says_it_inherits_the_default(
    client: Client, risk, second_risk, thresholds_url
) -> None:
    rules = {dimension: RuleInput(*values) for dimension, values in PLAYBOOK_DEFAULTS.items()}
    default = threshold_revision_propose(use_case=None, actor=risk, rules=rules, rationale="Default.")
    revision_approve(revision=default, approver=second_risk, password=PASSWORD)

    page = signed_in(client, risk).get(thresholds_url).content.decode()

    assert "the organisation default (revision 1) applies" in page


# Approve and reject pages


def test_a_second_risk_officer_approves_on_the_signing_page(client: Client, second_risk, pending_raci) -> None:
    url = reverse("admin:governance_racimatrix_approve", args=[pending_raci.pk])
    signed_in(client, second_risk)

    page = client.get(url).content.decode()
    response = client.post(url, {"username": "risk-2", "password": PASSWORD})

    assert "Approve RACI matrix revision 1" in page
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:governance_racimatrix_change", args=[pending_raci.pk])
    pending_raci.refresh_from_db()
    assert (pending_raci.state, pending_raci.decided_by) == (RevisionState.EFFECTIVE, second_risk)
    [signature] = signatures_on(pending_raci)
    assert signature.meaning == "Approved RACI matrix revision 1 as Risk Officer"


def test_the_proposer_is_refused_on_the_signing_page(client: Client, risk, pending_raci) -> None:
    url = reverse("admin:governance_racimatrix_approve", args=[pending_raci.pk])

    response = signed_in(client, risk).post(url, {"username": "risk", "password": PASSWORD})

    assert response.status_code == 403
    assert "You proposed this revision" in response.content.decode()
    pending_raci.refresh_from_db()
    assert pending_raci.state == RevisionState.PENDING
    assert not Signature.objects.exists()


def test_a_wrong_password_is_refused_on_the_signing_page(client: Client, second_risk, pending_raci) -> None:
    url = reverse("admin:governance_racimatrix_approve", args=[pending_raci.pk])

    response = signed_in(client, second_risk).post(url, {"username": "risk-2", "password": "wrong"})

    assert response.status_code == 403
    assert "Re-authentication failed" in response.content.decode()
    pending_raci.refresh_from_db()
    assert pending_raci.state == RevisionState.PENDING


def test_the_first_signing_of_a_session_needs_the_username(client: Client, second_risk, pending_raci) -> None:
    url = reverse("admin:governance_racimatrix_approve", args=[pending_raci.pk])

    response = signed_in(client, second_risk).post(url, {"password": PASSWORD})

    assert response.status_code == 400
    pending_raci.refresh_from_db()
    assert pending_raci.state == RevisionState.PENDING


def test_compliance_approves_thresholds_on_the_signing_page(client: Client, use_case, risk, compliance) -> None:
    rules = {dimension: RuleInput(*values) for dimension, values in PLAYBOOK_DEFAULTS.items()}
    policy = threshold_revision_propose(use_case=use_case, actor=risk, rules=rules, rationale="Playbook.")
    url = reverse("admin:governance_thresholdpolicy_approve", args=[policy.pk])

    response = signed_in(client, compliance).post(url, {"username": "compliance", "password": PASSWORD})

    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.state == RevisionState.EFFECTIVE
    assert signatures_on(policy)[0].meaning == "Approved threshold policy revision 1 as Compliance Reviewer"


def test_rejecting_needs_a_note_and_the_proposer_cannot_reject(client: Client, risk, second_risk, pending_raci) -> None:
    url = reverse("admin:governance_racimatrix_reject", args=[pending_raci.pk])

    assert signed_in(client, second_risk).post(url, {"reason": ""}).status_code == 400
    assert signed_in(client, risk).post(url, {"reason": "Mine anyway."}).status_code == 403
    pending_raci.refresh_from_db()
    assert pending_raci.state == RevisionState.PENDING

    response = signed_in(client, second_risk).post(url, {"reason": "Deployment needs the CAB."})

    assert response.status_code == 302
    pending_raci.refresh_from_db()
    assert (pending_raci.state, pending_raci.decision_note) == (RevisionState.REJECTED, "Deployment needs the CAB.")


def test_a_pending_revision_waits_in_the_deciders_queue_but_not_the_proposers(
    client: Client, risk, second_risk, pending_raci
) -> None:
    approve_url = reverse("admin:governance_racimatrix_approve", args=[pending_raci.pk])

    assert approve_url in signed_in(client, second_risk).get(reverse("admin:index")).content.decode()
    assert approve_url not in signed_in(client, risk).get(reverse("admin:index")).content.decode()


# Requirements pages


@pytest.fixture
def document(use_case, risk, second_risk, drafter):
    approved_raci(use_case, risk, second_risk)
    document = requirements_create(
        use_case=use_case, actor=drafter, title="Billing requirements", business_goals="First-contact resolution."
    )
    constraint_save(
        document=document,
        actor=drafter,
        applies_when="the response contains account balances or payment schedules",
        statement="Redact full card numbers",
        kind="redact",
        severity="critical",
    )
    return document


def test_the_drafter_submits_on_the_submit_page(client: Client, drafter, document) -> None:
    url = reverse("admin:governance_requirementsdocument_submit", args=[document.pk])
    signed_in(client, drafter)

    assert client.get(url).status_code == 403
    response = client.post(url)

    assert response.status_code == 302
    document.refresh_from_db()
    assert (document.state, document.submitted_by) == (RequirementsState.IN_REVIEW, drafter)


def test_submitting_an_empty_draft_shows_why_and_changes_nothing(client: Client, use_case, drafter) -> None:
    empty = requirements_create(use_case=use_case, actor=drafter, title="Empty", business_goals="Goals.")
    url = reverse("admin:governance_requirementsdocument_submit", args=[empty.pk])

    response = signed_in(client, drafter).post(url, follow=True)

    assert "Add at least one behaviour constraint" in response.content.decode()
    empty.refresh_from_db()
    assert empty.state == RequirementsState.DRAFT


def test_the_accountable_role_and_compliance_sign_on_the_signing_page(
    client: Client, product_owner, compliance, drafter, document
) -> None:
    requirements_submit(document=document, actor=drafter)
    url = reverse("admin:governance_requirementsdocument_sign", args=[document.pk])

    signed_in(client, product_owner)
    assert "Approved as Accountable for Requirements (Product Owner)" in client.get(url).content.decode()
    assert client.post(url, {"username": "po", "password": PASSWORD}).status_code == 302
    response = signed_in(Client(), compliance).post(url, {"username": "compliance", "password": PASSWORD})

    assert response.status_code == 302
    document.refresh_from_db()
    assert document.state == RequirementsState.APPROVED
    assert len(signatures_on(document)) == 2


def test_the_drafter_is_refused_on_the_signing_page(client: Client, drafter, document) -> None:
    requirements_submit(document=document, actor=drafter)
    url = reverse("admin:governance_requirementsdocument_sign", args=[document.pk])

    response = signed_in(client, drafter).post(url, {"username": "ml", "password": PASSWORD})

    assert response.status_code == 403
    assert not Signature.objects.filter(signer=drafter).exists()


def test_a_signer_returns_the_document_on_the_return_page(client: Client, compliance, drafter, document) -> None:
    requirements_submit(document=document, actor=drafter)
    url = reverse("admin:governance_requirementsdocument_return", args=[document.pk])
    signed_in(client, compliance)

    assert client.post(url, {"reason": ""}).status_code == 400
    response = client.post(url, {"reason": "Name the disclaimer."})

    assert response.status_code == 302
    document.refresh_from_db()
    assert document.state == RequirementsState.DRAFT


def test_someone_who_does_not_sign_cannot_return_the_document(client: Client, drafter, document) -> None:
    requirements_submit(document=document, actor=drafter)
    url = reverse("admin:governance_requirementsdocument_return", args=[document.pk])

    response = signed_in(client, drafter).post(url, {"reason": "I want to change it."})

    assert response.status_code == 403
    document.refresh_from_db()
    assert document.state == RequirementsState.IN_REVIEW


def test_a_document_in_review_waits_for_its_signers_only(
    client: Client, product_owner, compliance, drafter, auditor, document
) -> None:
    requirements_submit(document=document, actor=drafter)
    sign_url = reverse("admin:governance_requirementsdocument_sign", args=[document.pk])

    def waiting_for(user) -> bool:
        return sign_url in signed_in(Client(), user).get(reverse("admin:index")).content.decode()

    assert (waiting_for(product_owner), waiting_for(compliance)) == (True, True)
    assert (waiting_for(drafter), waiting_for(auditor)) == (False, False)
    signed_in(client, product_owner).post(sign_url, {"username": "po", "password": PASSWORD})
    assert (waiting_for(product_owner), waiting_for(compliance)) == (False, True)


# Every governance page renders for the people who read it


@pytest.mark.parametrize("role", [Role.RISK_OFFICER, Role.AUDITOR])
def test_the_governance_lists_and_records_render(
    client: Client, user_in_role, use_case, risk, second_risk, drafter, role: Role, document
) -> None:
    rules = {dimension: RuleInput(*values) for dimension, values in PLAYBOOK_DEFAULTS.items()}
    policy = threshold_revision_propose(use_case=use_case, actor=risk, rules=rules, rationale="Playbook.")
    raci = RaciMatrix.objects.get()
    signed_in(client, user_in_role(role, username="reader"))

    urls = [
        reverse("admin:governance_usecase_changelist"),
        reverse("admin:governance_usecase_change", args=[use_case.pk]),
        reverse("admin:governance_racimatrix_changelist"),
        reverse("admin:governance_racimatrix_change", args=[raci.pk]),
        reverse("admin:governance_thresholdpolicy_changelist"),
        reverse("admin:governance_thresholdpolicy_change", args=[policy.pk]),
        reverse("admin:governance_thresholdpolicy_default"),
        reverse("admin:governance_requirementsdocument_changelist"),
        reverse("admin:governance_requirementsdocument_change", args=[document.pk]),
        reverse("admin:governance_retrainingcadence_changelist"),
        reverse("admin:governance_policy_changelist"),
    ]

    assert {url: client.get(url).status_code for url in urls} == dict.fromkeys(urls, 200)


# Query counts


def make_use_cases(owner, count: int) -> None:
    for number in range(count):
        make_use_case(owner, slug=f"use-case-{number:02}", name=f"Use case {number:02}")


@pytest.mark.parametrize("rows", [5, 20])
def test_the_use_case_list_costs_the_same_queries_for_5_and_20_rows(
    client: Client, product_owner, django_assert_max_num_queries, rows: int
) -> None:
    make_use_cases(product_owner, rows)
    signed_in(client, product_owner)

    with django_assert_max_num_queries(9):  # 9 with the second-factor device of the session
        response = client.get(reverse("admin:governance_usecase_changelist"))

    assert response.status_code == 200
    assert response.content.decode().count('class="field-name"') == rows


def test_the_raci_grid_page_has_a_bounded_query_count(
    client: Client, use_case, risk, second_risk, django_assert_max_num_queries
) -> None:
    approved_raci(use_case, risk, second_risk)
    raci_revision_propose(
        use_case=use_case, actor=second_risk, grid=valid_grid(requirements=Role.RISK_OFFICER), rationale="Change."
    )
    signed_in(client, risk)
    url = reverse("admin:governance_usecase_raci", args=[use_case.pk])

    with django_assert_max_num_queries(13):  # 13 with the second-factor device of the session
        response = client.get(url)

    assert response.status_code == 200


def test_the_signing_page_shows_the_content_being_signed(client, user_in_role) -> None:
    from django.urls import reverse

    from accounts.demo import DEFAULT_DEMO_PASSWORD, seed_demo_logins
    from governance.demo_organisation import seed
    from governance.models import RequirementsDocument

    seed_demo_logins(password=DEFAULT_DEMO_PASSWORD)
    seed(password=DEFAULT_DEMO_PASSWORD)
    document = RequirementsDocument.objects.get(use_case__slug="clinical-notes")
    login_verified(client, document.use_case.owner)

    page = client.get(reverse("admin:governance_requirementsdocument_sign", args=[document.pk])).content.decode()

    assert 'id="signing-summary"' in page
    assert "Never state a diagnosis that is not in the notes." in page
    assert "PHI-02" in page
