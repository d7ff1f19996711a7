"""The registry's admin pages through the test client: who sees which page and button, what each button's POST
does (the service's change and its ledger entry), and what it refuses (wrong role, wrong state, bad input)
without changing anything."""

import datetime

import pytest
from django.contrib import admin as django_admin
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.choices import LedgerAction
from audit.models import LedgerEntry, Signature
from governance.choices import EvaluationDimension
from lineage.services import dataset_version_revoke
from registry.choices import (
    ChangeTicketState,
    DeploymentEventKind,
    Environment,
    GateOutcome,
    IncidentState,
    ValidationCategory,
)
from registry.models import (
    ChangeTicket,
    Deployment,
    GateDecision,
    Incident,
    ModelVersion,
)
from registry.services.deployments import deployment_deploy_dev, deployment_rollback
from registry.services.incidents import incident_open
from registry.services.monitoring import monitoring_summary_record
from registry.services.promotion import change_ticket_approve, valid_approvals
from tests.registry.conftest import PASSWORD, ledger_of, version
from tests.registry.pages import (
    ONE_POLICY,
    SEVERAL_POLICIES,
    evaluated,
    policy_run,
    prod_with_previous,
    staged,
)
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db


def as_user(client: Client, user) -> Client:
    login_verified(client, user)
    return client


def url(name: str, *args) -> str:
    return reverse(f"admin:registry_{name}", args=args)


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def denials_by(user) -> int:
    return LedgerEntry.objects.filter(action=LedgerAction.DENIED, actor=user).count()


@pytest.fixture
def prod_ticket(world) -> ChangeTicket:
    """A submitted prod ticket for a staged model version, requested by mleng; nobody has signed yet."""
    return world.ticket(staged(world), Environment.PROD)


# --- browsing ------------------------------------------------------------------------------------------------


REGISTRY_MODELS = [model for model in django_admin.site._registry if model._meta.app_label == "registry"]


def test_every_registry_model_is_browsable_and_nobody_adds_changes_or_deletes_through_the_stock_admin(
    client: Client, world, rf
) -> None:
    deployment = prod_with_previous(world)
    request = rf.get("/")
    for user in (world["admin"], world["mleng"], world["risk"], world["auditor"]):
        request.user = user
        for model in REGISTRY_MODELS:
            model_admin = django_admin.site._registry[model]
            assert not model_admin.has_add_permission(request), (user, model)
            assert not model_admin.has_change_permission(request), (user, model)
            assert not model_admin.has_delete_permission(request), (user, model)

    as_user(client, world["admin"])
    model = deployment.current_version
    before = ModelVersion.objects.get(pk=model.pk).description
    assert client.get(url("modelversion_add")).status_code == 403
    assert client.post(url("modelversion_change", model.pk), {"description": "edited"}).status_code == 403
    assert client.post(url("modelversion_delete", model.pk), {"post": "yes"}).status_code == 403
    assert client.post(url("deployment_change", deployment.pk), {"kill_switch_engaged": "on"}).status_code == 403
    assert ModelVersion.objects.get(pk=model.pk).description == before
    assert not Deployment.objects.get(pk=deployment.pk).kill_switch_engaged


def test_the_auditor_reads_every_list_and_page_and_gets_no_buttons(client: Client, world) -> None:
    deployment = prod_with_previous(world)
    model = deployment.current_version
    gate = model.gate_decisions.get()
    ticket = model.tickets.get(environment=Environment.PROD)
    as_user(client, world["auditor"])

    for registered in REGISTRY_MODELS:
        opts = registered._meta
        listing = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert listing.status_code == 200, opts.model_name
        first = registered._default_manager.order_by("pk").first()
        if first is not None:
            page = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk]))
            assert page.status_code == 200, opts.model_name

    pages = {
        "model version": client.get(url("modelversion_change", model.pk)),
        "ticket": client.get(url("changeticket_change", ticket.pk)),
        "deployment": client.get(url("deployment_change", deployment.pk)),
        "gate": client.get(url("gatedecision_change", gate.pk)),
        "matrix": client.get(url("validationrun_matrix", gate.validation_run_id)),
    }
    assert {name: page.status_code for name, page in pages.items()} == dict.fromkeys(pages, 200)
    text = "".join(page.content.decode() for page in pages.values())
    for button in ("Approve (sign)", "rollback-link", "Engage kill switch", "Human review (sign)", ">Deploy<"):
        assert button not in text
    assert client.get(url("deployment_rollback", deployment.pk)).status_code == 403


# --- the model version page -----------------------------------------------------------------------------------


def test_the_model_version_page_shows_its_run_data_gates_tickets_deployments_and_cards(client: Client, world) -> None:
    deployment = prod_with_previous(world)
    model = deployment.current_version
    as_user(client, world["risk"])

    page = client.get(url("modelversion_change", model.pk)).content.decode()

    run = model.training_run
    for fact in (run.run_id, run.code_commit, run.config_hash, "torch=1234", "8x A100 80GB", "transformers 4.46.0"):
        assert fact in page
    data = version("support-chats@1")
    assert reverse("admin:lineage_datasetversion_change", args=[data.pk]) in page
    assert "support-chats@1" in page
    assert 'id="data-flag"' not in page
    for ticket in model.tickets.all():
        assert ticket.identifier in page
    assert str(deployment) in page
    assert "Revision 1" in page
    assert url("gatedecision_matrix", model.gate_decisions.get().pk) in page


def test_a_revoked_dataset_shows_up_on_the_model_versions_it_reached(client: Client, world) -> None:
    deployment = prod_with_previous(world)
    dataset_version_revoke(version=version("support-chats@1"), actor=world["compliance"], reason="Erasure request")
    as_user(client, world["auditor"])

    page = client.get(url("modelversion_change", deployment.current_version_id)).content.decode()
    models = client.get(url("modelversion_changelist")).content.decode()
    flagged = client.get(url("modelversion_changelist") + "?data=unapproved").context["cl"].result_list
    deployments = client.get(url("deployment_changelist")).content.decode()
    deployment_page = client.get(url("deployment_change", deployment.pk)).content.decode()

    assert 'id="data-flag"' in page
    assert "trained on data that is no longer approved" in page
    assert "support-chats@1</a> (revoked)" in page
    assert models.count("Data no longer approved: support-chats@1 (revoked)") == 2
    assert {model.identifier for model in flagged} == {"support-assistant:1", "support-assistant:2"}
    assert "Data no longer approved: support-chats@1 (revoked)" in deployments
    assert 'id="data-flag"' in deployment_page


# --- the change ticket page -----------------------------------------------------------------------------------


def test_a_required_approver_signs_the_ticket_from_its_page(client: Client, world, prod_ticket) -> None:
    risk = world["risk"]
    as_user(client, risk)

    page = client.get(url("changeticket_change", prod_ticket.pk)).content.decode()
    sign_page = client.get(url("changeticket_approve", prod_ticket.pk)).content.decode()
    response = client.post(url("changeticket_approve", prod_ticket.pk), {"username": "risk", "password": PASSWORD})
    after = client.get(url("changeticket_change", prod_ticket.pk)).content.decode()

    assert "Approve (sign)" in page
    assert "Reject" in page
    assert "not yet signed" in page
    assert "Approved promotion to Production as Risk Officer" in sign_page
    assert "Roll back to the previous stable version" in sign_page  # what is signed is on the signing page
    assert response.status_code == 302
    assert valid_approvals(prod_ticket) == {"Risk Officer": risk}
    assert ledger_of(prod_ticket)[-1].action == LedgerAction.SIGN
    assert "Rafael Iskander (risk)" in after
    assert "Approve (sign)" not in after


def test_the_requester_and_roles_without_signing_rights_are_refused_and_nothing_is_signed(
    client: Client, world, prod_ticket
) -> None:
    for username in ("mleng", "legal"):
        user = world[username]
        as_user(client, user)
        page = client.get(url("changeticket_change", prod_ticket.pk)).content.decode()
        response = client.post(
            url("changeticket_approve", prod_ticket.pk), {"username": username, "password": PASSWORD}
        )
        reject = client.post(url("changeticket_reject", prod_ticket.pk), {"reason": "No."})

        assert "Approve (sign)" not in page
        assert (response.status_code, reject.status_code) == (403, 403)
        assert denials_by(user) == 2
    assert not Signature.objects.filter(
        object_id=str(prod_ticket.pk), meaning__startswith="Approved promotion"
    ).exists()
    prod_ticket.refresh_from_db()
    assert prod_ticket.state == ChangeTicketState.SUBMITTED


def test_a_wrong_or_missing_password_is_a_form_error_and_signs_nothing(client: Client, world, prod_ticket) -> None:
    as_user(client, world["cab"])

    wrong = client.post(url("changeticket_approve", prod_ticket.pk), {"username": "cab", "password": "not it"})
    missing = client.post(url("changeticket_approve", prod_ticket.pk), {"username": "cab", "password": ""})

    assert wrong.status_code == 403
    assert "Re-authentication failed" in wrong.content.decode()
    assert missing.status_code == 400
    assert missing.context["form"].errors["password"]
    assert valid_approvals(prod_ticket) == {}


def test_signing_a_ticket_that_is_not_awaiting_approval_is_refused_with_the_reason(client: Client, world) -> None:
    draft = world.ticket(staged(world), Environment.PROD, submit=False)
    as_user(client, world["cab"])

    page = client.get(url("changeticket_change", draft.pk)).content.decode()
    response = client.post(url("changeticket_approve", draft.pk), {"username": "cab", "password": PASSWORD})

    assert "Approve (sign)" not in page
    assert response.status_code == 403
    assert f"{draft.identifier} is draft, not awaiting approval." in response.content.decode()
    assert not Signature.objects.filter(object_id=str(draft.pk), content_type__model="changeticket").exists()


def test_rejecting_needs_a_reason_and_a_required_approver(client: Client, world, prod_ticket) -> None:
    as_user(client, world["cab"])

    empty = client.post(url("changeticket_reject", prod_ticket.pk), {"reason": "   "})
    prod_ticket.refresh_from_db()
    assert empty.status_code == 400
    assert prod_ticket.state == ChangeTicketState.SUBMITTED

    done = client.post(url("changeticket_reject", prod_ticket.pk), {"reason": "Change freeze until Monday."})
    again = client.post(url("changeticket_reject", prod_ticket.pk), {"reason": "Still frozen."})

    prod_ticket.refresh_from_db()
    assert done.status_code == 302
    assert (prod_ticket.state, prod_ticket.closing_note) == (ChangeTicketState.REJECTED, "Change freeze until Monday.")
    assert any(entry.action == LedgerAction.TRANSITION for entry in ledger_of(prod_ticket))
    assert again.status_code == 403
    assert "Only a required approver" in again.content.decode()


def test_the_requester_submits_and_cancels_from_the_page_and_others_may_not(client: Client, world) -> None:
    model = staged(world)
    draft = world.ticket(model, Environment.PROD, submit=False)

    as_user(client, world["cab"])
    assert client.post(url("changeticket_submit", draft.pk)).status_code == 403
    assert client.post(url("changeticket_cancel", draft.pk), {"reason": "Not mine."}).status_code == 403

    as_user(client, world["mleng"])
    page = client.get(url("changeticket_change", draft.pk)).content.decode()
    assert client.get(url("changeticket_submit", draft.pk)).status_code == 405
    submitted = client.post(url("changeticket_submit", draft.pk))
    draft.refresh_from_db()
    assert ">Submit<" in page
    assert submitted.status_code == 302
    assert draft.state == ChangeTicketState.SUBMITTED
    assert draft.required_roles == ["Security Reviewer", "Risk Officer", "Product Owner", "Change Advisory Board"]

    assert client.post(url("changeticket_cancel", draft.pk), {"reason": ""}).status_code == 400
    cancelled = client.post(url("changeticket_cancel", draft.pk), {"reason": "Superseded by a retrained version."})
    draft.refresh_from_db()
    assert cancelled.status_code == 302
    assert draft.state == ChangeTicketState.CANCELLED


def test_submitting_a_ticket_whose_conditions_fail_lists_every_reason_and_stays_a_draft(client: Client, world) -> None:
    model = world.model()
    deployment_deploy_dev(model_version=model, actor=world["mleng"])
    draft = world.ticket(model, Environment.PROD, submit=False)
    as_user(client, world["mleng"])

    response = client.post(url("changeticket_submit", draft.pk), follow=True)

    problems = messages_of(response)
    assert any("has not been deployed to Staging first" in problem for problem in problems)
    assert any("has no gate decision" in problem for problem in problems)
    assert any("has no model card" in problem for problem in problems)
    draft.refresh_from_db()
    assert draft.state == ChangeTicketState.DRAFT


def test_an_approved_ticket_is_deployed_with_the_deploy_button(client: Client, world, prod_ticket) -> None:
    as_user(client, world["mleng"])
    too_early = client.post(url("changeticket_deploy", prod_ticket.pk), follow=True)
    assert any("not approved" in message for message in messages_of(too_early))
    assert not Deployment.objects.filter(environment=Environment.PROD).exclude(current_version=None).exists()

    ticket = world.sign_all(prod_ticket)
    as_user(client, world["cab"])
    assert client.post(url("changeticket_deploy", ticket.pk)).status_code == 403

    as_user(client, world["mleng"])
    page = client.get(url("changeticket_change", ticket.pk)).content.decode()
    response = client.post(url("changeticket_deploy", ticket.pk), follow=True)

    ticket.refresh_from_db()
    prod = Deployment.objects.get(use_case=world.use_case, environment=Environment.PROD)
    assert ">Deploy<" in page
    assert "Nothing: every condition of the environment holds now." in page
    assert ticket.state == ChangeTicketState.DEPLOYED
    assert prod.current_version == ticket.model_version
    assert any("is live in Production" in message for message in messages_of(response))
    assert prod.events.get().change_ticket == ticket


# --- the deployment page --------------------------------------------------------------------------------------


def test_the_on_call_risk_officer_rolls_back_prod_with_one_click_and_a_reason(client: Client, world) -> None:
    prod = prod_with_previous(world)
    current, previous = prod.current_version, prod.previous_stable_version
    as_user(client, world["risk"])

    page = client.get(url("deployment_change", prod.pk)).content.decode()
    empty = client.post(url("deployment_rollback", prod.pk), {"reason": ""})
    prod.refresh_from_db()
    assert f"Roll back to {previous}" in page
    assert empty.status_code == 400
    assert prod.current_version == current

    done = client.post(url("deployment_rollback", prod.pk), {"reason": "Card fragments in answers since 09:10."})
    prod.refresh_from_db()
    event = prod.events.order_by("-happened_at", "-id").first()
    after = client.get(url("deployment_change", prod.pk)).content.decode()

    assert done.status_code == 302
    assert prod.current_version == previous
    assert (event.kind, event.model_version, event.replaced_version) == (
        DeploymentEventKind.ROLLBACK,
        previous,
        current,
    )
    assert event.incident.state == IncidentState.CONTAINED
    assert ledger_of(prod)[-1].payload["deployment_event"]["incident"] == event.incident.identifier
    assert url("incident_change", event.incident.pk) in after
    assert f"Roll back to {previous}" not in after  # nothing earlier to go back to


@pytest.mark.parametrize("username", ["cab", "mleng", "auditor", "admin"])
def test_roles_without_rollback_rights_are_refused_and_nothing_changes(client: Client, world, username) -> None:
    prod = prod_with_previous(world)
    current = prod.current_version
    as_user(client, world[username])

    page = client.get(url("deployment_change", prod.pk)).content.decode()
    response = client.post(url("deployment_rollback", prod.pk), {"reason": "Because."})

    prod.refresh_from_db()
    assert "rollback-link" not in page
    assert response.status_code == 403
    assert prod.current_version == current
    assert denials_by(world[username]) == 1


def test_rolling_back_with_no_previous_stable_version_is_refused_with_the_reason(client: Client, world) -> None:
    model = world.model()
    world.promote(model, Environment.TEST)
    test_env = Deployment.objects.get(use_case=world.use_case, environment=Environment.TEST)
    as_user(client, world["risk"])

    response = client.post(url("deployment_rollback", test_env.pk), {"reason": "Try it."})

    assert response.status_code == 403
    assert "has no previous stable version" in response.content.decode()
    test_env.refresh_from_db()
    assert test_env.current_version == model
    assert not Incident.objects.exists()


def test_the_kill_switch_is_engaged_and_released_from_the_deployment_page(client: Client, world) -> None:
    prod = prod_with_previous(world)
    as_user(client, world["mleng"])
    assert client.post(url("deployment_kill_switch", prod.pk, "engage"), {"reason": "x"}).status_code == 403

    as_user(client, world["security"])
    assert "Engage kill switch" in client.get(url("deployment_change", prod.pk)).content.decode()
    assert client.post(url("deployment_kill_switch", prod.pk, "engage"), {"reason": ""}).status_code == 400
    engaged = client.post(url("deployment_kill_switch", prod.pk, "engage"), {"reason": "Leaking card numbers."})
    twice = client.post(url("deployment_kill_switch", prod.pk, "engage"), {"reason": "Again."})
    prod.refresh_from_db()
    page = client.get(url("deployment_change", prod.pk)).content.decode()

    assert engaged.status_code == 302
    assert prod.kill_switch_engaged
    assert twice.status_code == 403
    assert "already engaged" in twice.content.decode()
    assert "Release kill switch" in page
    assert 'id="kill-switch"' in page
    incident = prod.events.get(kind=DeploymentEventKind.KILL_SWITCH_ON).incident
    assert incident.containment == ["kill_switch"]

    released = client.post(url("deployment_kill_switch", prod.pk, "release"), {"reason": "Redaction hotfix live."})
    prod.refresh_from_db()
    assert released.status_code == 302
    assert not prod.kill_switch_engaged
    assert client.get(url("deployment_kill_switch", prod.pk, "sideways")).status_code == 404


# --- gate decisions and the evaluation matrix -----------------------------------------------------------------


@pytest.fixture
def borderline(world) -> GateDecision:
    model = world.model()
    gate = world.gate(model, rates={EvaluationDimension.FACTUALITY: (94, 100)})
    assert gate.outcome == GateOutcome.BORDERLINE
    return gate


def review_post(verdict: str = "accepted", note: str = "Reviewed all six misses: paraphrases.", **signature) -> dict:
    return {"verdict": verdict, "note": note, "username": "risk2", "password": PASSWORD, **signature}


def test_a_risk_officer_accepts_a_borderline_gate_with_a_signed_human_review(client: Client, world, borderline) -> None:
    as_user(client, world["risk2"])

    page = client.get(url("gatedecision_change", borderline.pk)).content.decode()
    form = client.get(url("gatedecision_human_review", borderline.pk)).content.decode()
    response = client.post(url("gatedecision_human_review", borderline.pk), review_post())

    borderline.refresh_from_db()
    assert "Human review (sign)" in page
    assert "BORDERLINE" in page
    assert "Borderline gate accepted after human review" in form
    assert response.status_code == 302
    assert (borderline.human_decision, borderline.human_reviewer) == ("accepted", world["risk2"])
    assert borderline.allows_promotion
    assert LedgerAction.SIGN in [entry.action for entry in ledger_of(borderline)]
    assert "Human review (sign)" not in client.get(url("gatedecision_change", borderline.pk)).content.decode()


def test_a_human_review_is_refused_to_other_roles_and_for_bad_input_and_changes_nothing(
    client: Client, world, borderline
) -> None:
    as_user(client, world["cab"])
    assert "Human review (sign)" not in client.get(url("gatedecision_change", borderline.pk)).content.decode()
    assert client.post(url("gatedecision_human_review", borderline.pk), review_post(username="cab")).status_code == 403

    as_user(client, world["risk2"])
    no_note = client.post(url("gatedecision_human_review", borderline.pk), review_post(note=""))
    no_verdict = client.post(url("gatedecision_human_review", borderline.pk), review_post(verdict="maybe"))
    wrong_password = client.post(url("gatedecision_human_review", borderline.pk), review_post(password="nope"))

    assert (no_note.status_code, no_verdict.status_code) == (400, 400)
    assert no_note.context["decision_form"].errors["note"]
    assert no_verdict.context["decision_form"].errors["verdict"]
    assert wrong_password.status_code == 403
    assert "Re-authentication failed" in wrong_password.content.decode()
    # A wrong signing password counts towards the sign-in lockout like a wrong sign-in does.
    failed = LedgerEntry.objects.get(action=LedgerAction.LOGIN_FAILED)
    assert (failed.object_id, failed.payload["step"]) == (str(world["risk2"].pk), "signature")
    borderline.refresh_from_db()
    assert borderline.human_decision == ""
    assert not Signature.objects.filter(content_type__model="gatedecision").exists()


def test_a_gate_that_is_not_an_undecided_borderline_is_refused_human_review(client: Client, world) -> None:
    passing = world.gate(world.model())
    as_user(client, world["risk2"])

    response = client.post(url("gatedecision_human_review", passing.pk), review_post())

    assert response.status_code == 403
    assert "only an undecided BORDERLINE gate goes to human review" in response.content.decode()
    passing.refresh_from_db()
    assert passing.human_decision == ""


def test_the_engineer_who_registered_the_version_is_told_before_any_password_who_reviews_its_gate(
    client: Client, world, borderline
) -> None:
    as_user(client, world["mleng"])

    page = client.get(url("gatedecision_human_review", borderline.pk))

    content = page.content.decode()
    assert page.status_code == 403
    assert 'id="id_password"' not in content
    assert "Only a Risk Officer may decide a borderline gate." in content
    assert "<strong>Rafael Iskander</strong>, <strong>Rosa Lindqvist</strong>" in content


def cells(matrix) -> dict[str, dict[str, tuple[int, int]]]:
    categories = [value for value, _label in matrix.categories]
    return {
        row.code: {
            category: (cell.passed, cell.total)
            for category, cell in zip(categories, row.cells, strict=True)
            if cell.total
        }
        for row in matrix.rows
    }


def test_the_evaluation_matrix_counts_results_per_policy_and_test_category(client: Client, world) -> None:
    model = world.model()
    run = policy_run(world, model, SEVERAL_POLICIES)
    gate = evaluated(world, run)
    as_user(client, world["risk"])

    response = client.get(url("validationrun_matrix", run.pk))

    assert cells(response.context["matrix"]) == {
        "CC-17": {
            ValidationCategory.PROMPT: (13, 14),
            ValidationCategory.ADVERSARIAL: (5, 5),
            ValidationCategory.HUMAN_REVIEW: (2, 2),
        },
        "PHI-02": {ValidationCategory.ADVERSARIAL: (0, 3)},
        "WM-04": {ValidationCategory.SCENARIO: (3, 4), ValidationCategory.PROMPT: (4, 4)},
        "(no policy)": {ValidationCategory.PROMPT: (6, 6)},
    }
    page = response.content.decode()
    assert response.context["gate"] == gate
    assert "policy-suite v1" in page
    assert f'id="gate-threshold-revision">{gate.threshold_policy.revision}<' in page
    assert 'class="matrix-cell matrix-fail"><span class="matrix-verdict">fail</span> 13/14' in page
    assert 'class="matrix-cell matrix-pass"><span class="matrix-verdict">pass</span> 5/5' in page
    assert client.get(url("gatedecision_matrix", gate.pk)).context["gate"] == gate


def test_the_evaluation_matrix_takes_the_same_number_of_queries_for_one_row_or_many(
    client: Client, world, django_assert_max_num_queries
) -> None:
    small = policy_run(world, world.model(), ONE_POLICY, slug="one-policy")
    large = policy_run(world, world.model(), SEVERAL_POLICIES, slug="several-policies")
    evaluated(world, small)
    evaluated(world, large)
    as_user(client, world["auditor"])
    client.get(url("validationrun_matrix", small.pk))  # warm the session and permission caches

    counts = []
    for run in (small, large):
        # 11 with the second-factor device of the session
        with django_assert_max_num_queries(11), CaptureQueriesContext(connection) as queries:
            response = client.get(url("validationrun_matrix", run.pk))
        assert response.status_code == 200
        counts.append(len(queries))
    assert len(response.context["matrix"].rows) == 4
    assert counts[0] == counts[1]


# --- lists and pages stay fast ----------------------------------------------------------------------------------


def test_the_model_version_list_takes_the_same_number_of_queries_for_one_row_or_many(
    client: Client, world, django_assert_max_num_queries
) -> None:
    as_user(client, world["auditor"])
    world.model()
    client.get(url("modelversion_changelist"))

    counts = []
    for extra in (0, 3):
        for _ in range(extra):
            world.model(datasets=("support-chats@1",))
        if extra:
            dataset_version_revoke(version=version("support-chats@1"), actor=world["compliance"], reason="Erasure")
        # 12 with the second-factor device of the session
        with django_assert_max_num_queries(12), CaptureQueriesContext(connection) as queries:
            response = client.get(url("modelversion_changelist"))
        counts.append(len(queries))
    assert len(response.context["cl"].result_list) == 4
    assert counts[0] == counts[1]


def test_the_deployment_list_takes_the_same_number_of_queries_for_one_row_or_many(
    client: Client, world, django_assert_max_num_queries
) -> None:
    as_user(client, world["auditor"])
    model = world.model()
    deployment_deploy_dev(model_version=model, actor=world["mleng"])
    client.get(url("deployment_changelist"))

    counts = []
    for step in range(2):
        if step:
            world.promote(model, Environment.PROD)
        with django_assert_max_num_queries(11), CaptureQueriesContext(connection) as queries:
            response = client.get(url("deployment_changelist"))
        counts.append(len(queries))
    assert len(response.context["cl"].result_list) == 4
    assert counts[0] == counts[1]


def test_the_ticket_page_takes_the_same_number_of_queries_for_no_signature_or_three(
    client: Client, world, django_assert_max_num_queries
) -> None:
    ticket = world.ticket(staged(world), Environment.PROD)
    as_user(client, world["auditor"])
    client.get(url("changeticket_change", ticket.pk))

    counts = []
    for signers in ([], ["security", "risk", "product"]):
        for username in signers:
            change_ticket_approve(ticket=ticket, approver=world[username], password=PASSWORD)
        # 25, one for its discussion thread, and fifteen for the provenance completeness of the version the ticket
        # promotes (registry.completeness, with its languages)
        with django_assert_max_num_queries(41), CaptureQueriesContext(connection) as queries:
            response = client.get(url("changeticket_change", ticket.pk))
        assert response.status_code == 200
        counts.append(len(queries))
    assert len([signer for _role, signer in response.context["approvers"] if signer]) == 3
    assert counts[0] == counts[1]


# --- incidents --------------------------------------------------------------------------------------------------


def test_an_incident_is_resolved_and_closed_from_its_page_with_a_review_for_sev2(client: Client, world) -> None:
    prod = prod_with_previous(world)
    incident = deployment_rollback(deployment=prod, actor=world["risk"], reason="Leak.").incident
    as_user(client, world["legal"])
    assert client.post(url("incident_resolve", incident.pk), {}).status_code == 403

    as_user(client, world["risk"])
    page = client.get(url("incident_change", incident.pk)).content.decode()
    bad = client.post(
        url("incident_resolve", incident.pk), {"root_cause_kind": "dataset_version", "root_cause_summary": "x"}
    )
    unknown = client.post(
        url("incident_resolve", incident.pk),
        {"root_cause_kind": "dataset_version", "root_cause_summary": "x", "root_cause_dataset_version": "nope@9"},
    )
    resolved = client.post(
        url("incident_resolve", incident.pk),
        {
            "root_cause_kind": "dataset_version",
            "root_cause_summary": "Unredacted card numbers in the billing corpus.",
            "root_cause_dataset_version": "support-chats@1",
        },
    )
    incident.refresh_from_db()
    assert ">Resolve<" in page
    assert bad.status_code == 400
    assert "Name the dataset version at the root of it." in bad.content.decode()
    assert unknown.status_code == 400
    assert resolved.status_code == 302
    assert (incident.state, incident.root_cause_dataset_version) == (IncidentState.RESOLVED, version("support-chats@1"))

    short = client.post(url("incident_close", incident.pk), {"post_incident_review": "Fixed."})
    incident.refresh_from_db()
    assert short.status_code == 400
    assert "post-incident review" in short.content.decode()
    assert incident.state == IncidentState.RESOLVED

    review = "Redaction missed 16-digit numbers split by spaces; the filter now normalises whitespace first."
    closed = client.post(url("incident_close", incident.pk), {"post_incident_review": review})
    again = client.post(url("incident_close", incident.pk), {"post_incident_review": review})
    incident.refresh_from_db()
    assert closed.status_code == 302
    assert (incident.state, incident.post_incident_review) == (IncidentState.CLOSED, review)
    assert again.status_code == 409
    assert "only a resolved incident is closed" in again.content.decode()


def draft_incident(world) -> Incident:
    prod = prod_with_previous(world)
    end = timezone.now()
    summary = monitoring_summary_record(
        deployment=prod,
        actor=world["mleng"],
        period_start=end - datetime.timedelta(hours=1),
        period_end=end,
        volume=1200,
        policy_violation_rate="3.5",
        refusal_rate="2",
        escalation_rate="4",
        human_override_rate="1",
    )
    return summary.incident


def test_a_draft_incident_raised_by_monitoring_is_confirmed_or_dismissed(client: Client, world) -> None:
    draft = draft_incident(world)
    assert draft.state == IncidentState.DRAFT
    as_user(client, world["product"])
    assert client.post(url("incident_confirm", draft.pk)).status_code == 403

    as_user(client, world["security"])
    page = client.get(url("incident_change", draft.pk)).content.decode()
    assert client.post(url("incident_dismiss", draft.pk), {"reason": ""}).status_code == 400
    confirmed = client.post(url("incident_confirm", draft.pk), follow=True)
    twice = client.post(url("incident_confirm", draft.pk), follow=True)
    dismiss_open = client.post(url("incident_dismiss", draft.pk), {"reason": "False alarm."})

    draft.refresh_from_db()
    assert ">Confirm<" in page
    assert ">Dismiss<" in page
    assert draft.state == IncidentState.OPEN
    assert any("confirmed" in message for message in messages_of(confirmed))
    assert any("only a draft is confirmed" in message for message in messages_of(twice))
    assert dismiss_open.status_code == 403
    assert any(entry.action == LedgerAction.TRANSITION for entry in ledger_of(draft))


# --- landing-page queues --------------------------------------------------------------------------------------


def test_the_landing_page_lists_tickets_to_sign_borderline_gates_and_open_incidents(
    client: Client, world, prod_ticket
) -> None:
    borderline_gate = world.gate(world.model(), rates={EvaluationDimension.FACTUALITY: (94, 100)})
    incident = incident_open(
        use_case=world.use_case,
        actor=world["risk"],
        title="Card fragments in answers",
        description="Two customers saw the last 8 digits of another customer's card.",
        severity="sev2",
        source="complaint",
    )

    cab = as_user(Client(), world["cab"]).get(reverse("admin:index")).content.decode()
    requester = as_user(Client(), world["mleng"]).get(reverse("admin:index")).content.decode()
    risk = as_user(client, world["risk"]).get(reverse("admin:index")).content.decode()

    assert "Change tickets waiting for my signature" in cab
    assert f"{prod_ticket} (sign as Change Advisory Board)" in cab
    assert f"{prod_ticket} (sign as" not in requester  # never in their own signing queue
    assert "Waits for the signatures of" in requester  # but in the promotions they requested, with where it waits
    assert f"{prod_ticket} (sign as Risk Officer)" in risk
    assert str(borderline_gate) in risk
    assert url("gatedecision_change", borderline_gate.pk) in risk
    assert url("incident_change", incident.pk) in risk
    assert "Card fragments in answers" in risk

    change_ticket_approve(ticket=prod_ticket, approver=world["cab"], password=PASSWORD)
    assert str(prod_ticket) not in as_user(Client(), world["cab"]).get(reverse("admin:index")).content.decode()
