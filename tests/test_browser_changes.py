"""The reviewer's and auditor's day in a real browser: what a revision changes, in people's words, and the audit
trail and ledger that name people, records and states rather than ids and keys."""

import pytest

from governance.choices import RevisionState
from governance.models import RaciMatrix, ThresholdPolicy, UseCase
from lineage.models import DatasetVersion
from tests.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def propose_changes(page: object, base_url: str, use_case: UseCase) -> str:
    """Risk proposes Risk Officer I -> C at the requirements stage and one point more on bias & fairness; returns
    the bias & fairness minimum it had."""
    sign_in(page, base_url, "risk")
    page.goto(f"{base_url}/admin/governance/usecase/{use_case.pk}/raci/")
    page.select_option("select[name='cell__requirements__Risk_Officer']", "C")
    page.fill("textarea[name=rationale]", "Risk advises on requirements from now on.")
    page.click("#raci-form input[type=submit]")
    page.wait_for_selector("#raci-pending")
    page.goto(f"{base_url}/admin/governance/usecase/{use_case.pk}/thresholds/")
    old = page.input_value("input[name=bias_fairness__rate]")
    page.fill("input[name=bias_fairness__rate]", str(int(float(old)) + 1))
    page.fill("textarea[name=rationale]", "One point more on bias after the fairness review.")
    page.click("#thresholds-form input[type=submit]")
    page.wait_for_selector("#thresholds-pending")
    return old


def test_a_pending_revision_shows_each_changed_cell_and_figure_old_to_new_in_words(
    live_server, demo_organisation, page
) -> None:
    use_case = UseCase.objects.get(slug="support-assistant")
    old = propose_changes(page, live_server.url, use_case)
    raci = RaciMatrix.objects.get(use_case=use_case, state=RevisionState.PENDING)
    thresholds = ThresholdPolicy.objects.get(use_case=use_case, state=RevisionState.PENDING)

    page.context.clear_cookies()
    sign_in(page, live_server.url, "risk2")
    page.goto(f"{live_server.url}/admin/governance/racimatrix/{raci.pk}/change/")
    changes = page.inner_text("#revision-changes")
    assert "Requirements, Risk Officer: I → C" in changes
    assert page.locator("#revision-changes li").count() == 1  # the one changed cell, not the whole matrix

    page.goto(f"{live_server.url}/admin/governance/thresholdpolicy/{thresholds.pk}/approve/")
    changes = page.inner_text("#revision-changes")
    before = f"{float(old):g}"
    assert f"Bias & fairness minimum: {before}% → {int(float(old)) + 1}%" in changes
    assert page.locator("#revision-changes li").count() == 1
    assert "min_pass_rate" not in page.inner_text("#content")
    assert "bias_fairness" not in page.inner_text("#content")


def test_the_audit_trail_and_the_ledger_name_people_records_and_states(live_server, demo_lineage, page) -> None:
    version = DatasetVersion.objects.filter(submitted_by__isnull=False).select_related("submitted_by").first()
    submitter = version.submitted_by.get_full_name()
    sign_in(page, live_server.url, "auditor")
    page.goto(f"{live_server.url}/admin/lineage/datasetversion/{version.pk}/audit-trail/")
    trail = page.inner_text("#ledger-entries")
    assert f"submitted by: \u2013 → {submitter}" in trail
    assert "None →" not in trail
    assert "→ None" not in trail
    assert "state: Draft → Legal review" in trail

    page.goto(f"{live_server.url}/admin/audit/ledgerentry/?q={version}")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() > 0
    listed = page.inner_text("#result_list")
    assert str(version) in listed
    assert "lineage.datasetversion" not in listed

    page.goto(f"{live_server.url}/admin/audit/ledgerentry/?q=Rosa+Lindqvist")
    listed = page.inner_text("#result_list")
    assert "Rosa Lindqvist" in listed
    assert "auth.user" not in listed
    assert "risk2 (" not in listed
