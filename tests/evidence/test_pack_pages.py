"""What an auditor reading a pack's pages needs and once did not find: which version each environment served when,
the incidents behind it, who set the thresholds and what the suite tests, the DPIA's digest, the RACI in force at
each signature, who refused a change, and pages laid out so that nothing runs off them."""

import io
import re
import xml.etree.ElementTree as ET

import pytest
from pypdf import PdfReader
from weasyprint import HTML

from audit.signatures import signatures_for
from evidence import builder
from evidence.collect import SECTIONS
from governance.models import DocumentKind
from governance.services.documents import document_upload
from governance.services.raci import raci_revision_propose
from governance.services.revisions import revision_approve
from registry.choices import Environment, IncidentSeverity, IncidentSource
from registry.models import Deployment
from registry.services.deployments import deployment_rollback
from registry.services.incidents import incident_open
from registry.services.promotion import change_ticket_deploy, change_ticket_reject
from tests.registry.conftest import PASSWORD, version
from tests.registry.pages import prod_with_previous
from tests.security.test_uploads import pdf_bytes

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"


def _flat(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def _pages(pdf: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


@pytest.fixture
def story(world):
    """support-assistant:1 taken to staging under RACI r1 and to production under r2, a DPIA on its data; then
    support-assistant:2 replaces it in production and is rolled back for an incident, a second incident is opened on
    production, and a new ticket for version 1 is rejected by the Change Advisory Board."""
    first = world.model()
    world.promote(first, Environment.STAGING)
    current = world.use_case.raci_revisions.get(state="effective")
    grid = {(a.stage, a.role): a.letter for a in current.assignments.all()}
    pending = raci_revision_propose(use_case=world.use_case, actor=world["risk"], grid=grid, rationale="Reviewed.")
    second_raci = revision_approve(revision=pending, approver=world["risk2"], password=PASSWORD)
    world.card(first)
    world.sign_all(world.ticket(first, Environment.PROD))
    ticket = first.tickets.get(environment=Environment.PROD, state="approved")
    change_ticket_deploy(ticket=ticket, actor=world["mleng"])
    data = pdf_bytes()
    dpia = document_upload(
        actor=world["steward"],
        target=version("support-chats@1"),
        kind=DocumentKind.DPIA,
        file=io.BytesIO(data),
        filename="dpia-support-chats.pdf",
        size=len(data),
    )
    second = world.model()
    world.promote(second, Environment.PROD)
    prod = Deployment.objects.get(use_case=world.use_case, environment=Environment.PROD)
    rollback = deployment_rollback(deployment=prod, actor=world["risk"], reason="Card fragments echoed back.")
    still_open = incident_open(
        use_case=world.use_case,
        actor=world["mleng"],
        title="Escalations above the alert threshold",
        description="Seen on production after the rollback.",
        severity=IncidentSeverity.SEV3,
        source=IncidentSource.MONITORING_ALERT,
        model_version=second,
        deployment=prod,
    )
    rejected = change_ticket_reject(
        ticket=world.ticket(first, Environment.TEST), approver=world["cab"], reason="Version 1 is superseded."
    )
    first.refresh_from_db()
    return {
        "version": first,
        "raci": second_raci,
        "dpia": dpia,
        "rollback_incident": rollback.incident,
        "open_incident": still_open,
        "rejected": rejected,
    }


@pytest.fixture
def story_pack(story) -> tuple[bytes, str]:
    """The pack of support-assistant:1, and the HTML it was rendered from."""
    rendered = {}
    render = builder.render_pdf

    def keep_html(html, files, **kwargs):
        rendered["html"] = html
        return render(html, files, **kwargs)

    model_version = story["version"]
    original, builder.render_pdf = builder.render_pdf, keep_html
    try:
        pdf = builder.build_pack(use_case=model_version.use_case, model_version=model_version).pdf
    finally:
        builder.render_pdf = original
    return pdf, rendered["html"]


def test_the_deployment_timeline_shows_each_environment_in_time_order_with_the_authority_for_each_change(
    story, story_pack
) -> None:
    pdf, _html = story_pack
    flat = _flat(pdf)
    timeline = flat[flat.index("Deployment timeline") : flat.index("Incidents (")].replace(" ", "")
    tickets = {t.environment: t.identifier for t in story["version"].tickets.filter(state="deployed")}
    rows = [
        "Development Deployed support-assistant:1",
        f"Test Deployed support-assistant:1 - {tickets['test']}",
        f"Staging Deployed support-assistant:1 - {tickets['staging']}",
        f"Production Deployed support-assistant:1 - {tickets['prod']}",
        "Production Deployed support-assistant:2 support-assistant:1",
        f"Production Rolled back support-assistant:1 support-assistant:2 {story['rollback_incident'].identifier}",
    ]
    positions = [timeline.index(row.replace(" ", "")) for row in rows]
    assert positions == sorted(positions)


def test_open_incidents_count_those_on_the_environment_the_version_serves_and_those_behind_its_rollback(
    story, story_pack
) -> None:
    pdf, _html = story_pack
    first_page = _pages(pdf)[0]
    assert story["open_incident"].identifier in first_page
    flat = _flat(pdf)
    incidents = flat[flat.index("Incidents (") : flat.index("10. Monitoring summaries", flat.index("Incidents ("))]
    assert story["open_incident"].identifier in incidents
    assert story["rollback_incident"].identifier in incidents
    assert incidents.startswith("Incidents (2, ")


def test_the_thresholds_in_force_name_who_set_them_with_signatures_and_the_suite_definition_is_counted(
    world, story, story_pack
) -> None:
    pdf, _html = story_pack
    flat = _flat(pdf)
    gate = story["version"].gate_decisions.first()
    policy = gate.threshold_policy
    assert f"{policy}: proposed by {policy.proposed_by}" in flat
    assert f"decided by {policy.decided_by}" in flat
    for signature, _valid in signatures_for(policy):
        assert f"meaning: {signature.meaning}" in flat
    for rule in policy.rules.all():
        assert f"{rule.get_dimension_display()} {rule.min_pass_rate} {rule.borderline_band}" in flat
    cases = world.suite.cases.count()
    assert f"{world.suite}: {world.suite.title}, {cases} cases" in flat
    assert "Redaction quality Human review 1" in flat
    assert "Redaction quality Prompt test 1" in flat


def test_a_document_attached_to_a_dataset_version_is_listed_with_its_digest(story, story_pack) -> None:
    pdf, _html = story_pack
    flat = _flat(pdf)
    assert "dpia-support-chats.pdf" in flat.replace(" ", "")
    assert story["dpia"].sha256 in flat.replace(" ", "")


def test_each_signature_names_the_raci_revision_in_force_when_it_was_made_and_its_bound_digest(
    story, story_pack
) -> None:
    pdf, _html = story_pack
    flat = _flat(pdf)
    joined = flat.replace(" ", "")
    second_raci = story["raci"]
    assert f"RACI Customer-support billing assistant r{second_raci.revision - 1} (Superseded)" in flat
    assert f"RACI Customer-support billing assistant r{second_raci.revision} (Effective)" in flat
    for ticket in story["version"].tickets.filter(state="deployed"):
        for signature, _valid in signatures_for(ticket):
            revision = (
                second_raci.revision if signature.signed_at >= second_raci.decided_at else second_raci.revision - 1
            )
            assert f"boundtorecorddigest{signature.record_digest};underRACIr{revision}" in joined


def test_a_rejected_ticket_says_who_rejected_it_when_and_why(story, story_pack) -> None:
    pdf, _html = story_pack
    flat = _flat(pdf)
    rejected = story["rejected"]
    assert f"{rejected.identifier}: support-assistant:1 to test (Rejected)" in flat
    assert "Rejected by cab (Carl Abernathy) at " in flat
    assert f"Rejected by cab (Carl Abernathy) at {rejected.decided_at:%Y-%m-%d %H:%M}" in flat
    assert "Reason: Version 1 is superseded." in flat


def test_the_contents_give_the_page_of_each_section(story_pack) -> None:
    pdf, _html = story_pack
    pages = _pages(pdf)
    for number, (_anchor, title) in enumerate(SECTIONS, start=1):
        listed = re.search(re.escape(title) + r" \.+ (\d+)", pages[0])
        assert listed, title
        assert f"{number}. {title}" in pages[int(listed[1]) - 1], title


def test_no_table_nor_the_chart_runs_off_the_page(story_pack) -> None:
    _pdf, html = story_pack
    document = HTML(string=html, base_url=builder._static_base_url()).render()
    checked = 0
    for page in document.pages:
        right = page._page_box.content_box_x() + page._page_box.width
        stack = [page._page_box]
        while stack:
            box = stack.pop()
            stack.extend(getattr(box, "children", []))
            if box.element_tag in ("table", "svg") and box.element is not None:
                assert box.position_x + box.margin_width() <= right + 0.5, (box.element_tag, box.element.get("class"))
                checked += "raci" in box.element.get("class", "") or box.element_tag == "svg"
    assert checked >= 2


def test_the_chart_prints_whole_labels_each_value_and_the_threshold_line(world, story) -> None:
    svg = ET.fromstring(str(builder.dimension_chart([story["version"]])))  # noqa: S314  (the portal's own SVG)
    width = float(svg.get("width"))
    texts = svg.findall(f"{SVG}text")
    for text in texts:
        size = float(text.get("font-size"))
        assert float(text.get("x")) + len(text.text) * size * builder.CHAR_WIDTH <= width, text.text
    labels = [text.text for text in texts]
    assert "support-assistant:1" in labels
    assert "support-assistant:2" in labels
    assert "100.00%" in labels
    gate = story["version"].gate_decisions.first()
    lines = svg.findall(f"{SVG}line")
    assert len(lines) == len(gate.figures)
    assert any(label.startswith("Redaction quality (minimum 100.00%)") for label in labels)


def test_a_version_s_pack_shows_what_changed_since_the_version_it_replaced_in_production(world) -> None:
    deployment = prod_with_previous(world)
    replaced, current = deployment.previous_stable_version, deployment.current_version

    pdf = builder.build_pack(use_case=current.use_case, model_version=current).pdf

    text = _flat(pdf)
    assert f"Changes since {replaced}, the version it replaced in production" in text
    assert "Output weights digest" in text  # each run trains its own weights
    first_pack = _flat(builder.build_pack(use_case=replaced.use_case, model_version=replaced).pdf)
    assert "the version it replaced in production" not in first_pack  # it replaced none
