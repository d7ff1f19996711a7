"""The record under review says what matters, and lists fit the screen, in a real browser: a dataset version shows
the sources it carries with their legal basis, Art. 9 condition, consent scope and retention, every signature, and
what changed since the previous version down to a source's languages and synthetic data;
lists fit 1400 px; JSON and byte counts read as text; the signing form says why it asks for the username."""

import pytest
from django.contrib.auth import get_user_model

from governance.revision_changes import ABSENT
from lineage.models import DatasetVersion
from lineage.services import lineage_source_add
from tests.conftest import sign_in
from tests.lineage.conftest import SYNTHETIC, SYNTHETIC_READ, new_version
from tests.registry import conftest as registry
from tests.registry.pages import prod_with_previous

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

world = registry.world
User = get_user_model()


def test_a_version_under_review_shows_the_sources_it_carries_and_the_approved_parent_its_signatures(
    live_server, demo_lineage, page
) -> None:
    under_review = DatasetVersion.objects.get(dataset__slug="support-chats", number=2)
    parent = DatasetVersion.objects.get(dataset__slug="support-chats", number=1)
    sign_in(page, live_server.url, "legal")

    page.goto(f"{live_server.url}/admin/lineage/datasetversion/{under_review.pk}/change/")
    sources = page.inner_text("#version-sources")
    assert "Salesforce CRM" in sources
    assert "Contract (Art. 6(1)(b))" in sources
    assert "Consent (Art. 6(1)(a))" in sources
    assert "service improvement" in sources
    assert "730 days" in sources
    assert "support-chats@1 (derived from)" in sources
    assert "Not signed yet" in page.inner_text("#record-signatures")
    assert "content_digest" not in page.inner_text("#changes")
    size = page.inner_text("#lineage-record")
    assert "MB" in size

    page.goto(f"{live_server.url}/admin/lineage/datasetversion/{parent.pk}/change/")
    signatures = page.inner_text("#record-signatures")
    for name, meaning in (
        ("Lena Galloway", "Approved as Legal reviewer"),
        ("Sergei Kuznetsov", "Approved as Security reviewer"),
        ("Chloe Pereira", "Approved as Compliance reviewer"),
    ):
        assert name in signatures
        assert meaning in signatures
    assert signatures.count("Valid") == 3

    page.goto(f"{live_server.url}/admin/lineage/datasetversion/{under_review.pk}/approve/")
    assert "first signature of this session" in page.inner_text("#id_username_helptext")


def test_a_reviewer_reads_the_languages_and_synthetic_data_a_source_brings_since_the_previous_version(
    live_server, demo_lineage, page
) -> None:
    previous = DatasetVersion.objects.get(dataset__slug="discharge-notes", number=2)
    kept = previous.lineage.sources.select_related("source_system").order_by("pk").first()
    name = kept.source_system.name
    engineer = User.objects.get(username="mleng")
    draft = new_version(previous.dataset, engineer)
    lineage_source_add(
        version=draft,
        actor=engineer,
        source_system=kept.source_system,
        legal_basis=kept.legal_basis,
        special_category=kept.special_category,
        article9_condition=kept.article9_condition,
        period_start=kept.period_start,
        period_end=kept.period_end,
        languages=[*kept.languages, "it"],
        **SYNTHETIC,
    )
    sign_in(page, live_server.url, "auditor")

    page.goto(f"{live_server.url}/admin/lineage/datasetversion/{draft.pk}/change/")
    assert f"Changes since {previous}" in page.inner_text("#changes")

    def cells(label: str) -> list[str]:
        return page.locator("#changes tr", has_text=label).locator("td").all_inner_texts()

    added = ", ".join(sorted([*kept.languages, "it"]))
    assert cells(f"Languages of {name}") == [", ".join(kept.languages), f"→ {added}"]
    assert cells(f"{name} marked synthetic") == [ABSENT, f"→ {SYNTHETIC_READ}"]


def fits(page: object) -> bool:
    return page.evaluate(
        "(() => { const r = document.querySelector('#changelist-form .results');"
        " return r.scrollWidth <= r.clientWidth && document.documentElement.scrollWidth <= window.innerWidth; })()"
    )


def header_visible(page: object, text: str) -> bool:
    box = page.locator("#result_list thead th", has_text=text).first.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 1400


def test_lists_fit_1400_pixels_and_records_read_as_text(live_server, world, page) -> None:
    deployment = prod_with_previous(world)
    page.set_viewport_size({"width": 1400, "height": 900})
    sign_in(page, live_server.url, "auditor")

    page.goto(f"{live_server.url}/admin/registry/deployment/")
    assert fits(page)
    assert header_visible(page, "previous stable version")
    assert header_visible(page, "kill switch")
    assert str(deployment.previous_stable_version) in page.inner_text("#result_list")
    page.goto(f"{live_server.url}/admin/audit/ledgerentry/")
    assert fits(page)
    assert header_visible(page, "entry hash")

    run = deployment.current_version.training_run
    page.goto(f"{live_server.url}/admin/registry/trainingrun/{run.pk}/change/")
    libraries, seeds = page.inner_text(".field-libraries"), page.inner_text(".field-seeds")
    assert "transformers 4.46.0" in libraries
    assert "torch 1234" in seeds
    assert "{" not in libraries + seeds
    page.goto(f"{live_server.url}/admin/governance/usecase/{world.use_case.pk}/change/")
    jurisdictions = page.inner_text(".field-jurisdictions_text")
    assert "[" not in jurisdictions
    assert '"' not in jurisdictions
