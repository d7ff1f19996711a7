"""A use case's assessment results in OSCAL: valid by trestle's models, every observation and finding citing the
ledger entry that recorded it, stable identifiers, a fixed number of queries, and the download from the use case's
page recorded as an export."""

import json

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from trestle.oscal.assessment_results import AssessmentResults

from audit.canonical import model_label
from audit.models import AccessEvent, LedgerEntry, Signature
from evidence.oscal_results import assessment_results_json, component_uuid
from governance.oscal import PROPERTY_NS, component_definition_json
from lineage.models import DatasetVersion
from registry.choices import Environment
from registry.models import ChangeTicket
from registry.services.incidents import incident_open
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db


def _load(use_case) -> AssessmentResults:
    document = json.loads(assessment_results_json(use_case))
    return AssessmentResults.model_validate(document["assessment-results"])


def _prop(item, name: str) -> str | None:
    found = [prop for prop in item.props or [] if prop.name == name and str(prop.ns) == PROPERTY_NS]
    return found[0].value if found else None


def _created_at(record) -> int:
    return (
        LedgerEntry.objects.filter(object_type=model_label(record), object_id=str(record.pk), action="create")
        .values_list("sequence", flat=True)
        .get()
    )


@pytest.fixture
def assessed(world):
    """support-assistant:1 promoted to production (a passing gate, signed tickets), a second version whose gate
    failed, and an open incident beside a closed-off one."""
    promoted = world.model()
    world.promote(promoted, Environment.PROD)
    failing = world.model()
    failed_gate = world.gate(failing, rates={"safety": (1, 10)})
    incident = incident_open(
        use_case=world.use_case,
        actor=world["mleng"],
        title="Card number echoed",
        description="The assistant repeated a customer's card number.",
        severity="sev2",
        source="complaint",
        model_version=promoted,
    )
    return {"promoted": promoted, "failed_gate": failed_gate, "incident": incident}


def test_the_results_load_back_as_oscal_with_every_record_observed_and_cited(world, assessed) -> None:
    loaded = _load(world.use_case)

    (result,) = loaded.results
    observations = {_prop(o, "record") or "": o for o in result.observations}
    gates = [*assessed["promoted"].gate_decisions.all(), assessed["failed_gate"]]
    for gate in gates:
        observed = observations[f"gate-decision:{gate.pk}"]
        assert _prop(observed, "ledger-sequence") == str(_created_at(gate))
        assert _prop(observed, "threshold-revision") == str(gate.threshold_policy.revision)
        assert _prop(observed, "gate-outcome") == gate.outcome
        assert observed.methods == ["TEST"]

    signed = {str(o.uuid): o for o in result.observations if _prop(o, "signature-kind")}
    dataset_signatures = Signature.objects.filter(
        content_type__model="datasetversion",
        object_id__in=[
            str(dv.pk)
            for dv in DatasetVersion.objects.filter(
                Q(dataset__use_case=world.use_case) | Q(training_runs__use_case=world.use_case)
            )
        ],
    )
    ticket_signatures = Signature.objects.filter(
        content_type__model="changeticket",
        object_id__in=[str(t.pk) for t in ChangeTicket.objects.filter(model_version=assessed["promoted"])],
    )
    assert dataset_signatures.exists()
    assert ticket_signatures.exists()
    cited = {_prop(o, "ledger-sequence"): _prop(o, "signature-kind") for o in signed.values()}
    for signature in dataset_signatures:
        assert cited[str(signature.ledger_entry_id)] == "dataset-approval"
    for signature in ticket_signatures:
        assert cited[str(signature.ledger_entry_id)] == "promotion-approval"
    assert len(signed) == dataset_signatures.count() + ticket_signatures.count()

    findings = {_prop(f, "record"): f for f in result.findings}
    assert set(findings) == {f"gate-decision:{assessed['failed_gate'].pk}", f"incident:{assessed['incident'].pk}"}
    failed = findings[f"gate-decision:{assessed['failed_gate'].pk}"]
    assert _prop(failed, "ledger-sequence") == str(_created_at(assessed["failed_gate"]))
    assert failed.target.status.state.value == "not-satisfied"
    assert [str(r.observation_uuid) for r in failed.related_observations] == [
        str(observations[f"gate-decision:{assessed['failed_gate'].pk}"].uuid)
    ]
    incident = findings[f"incident:{assessed['incident'].pk}"]
    assert _prop(incident, "ledger-sequence") == str(_created_at(assessed["incident"]))
    assert _prop(incident, "severity") == "sev2"

    assert {str(s.subject_uuid) for o in result.observations for s in o.subjects} == {component_uuid(world.use_case)}
    assert loaded.import_ap.href == f"/api/v1/use-cases/{world.use_case.slug}/oscal/component-definition"


def test_the_subject_is_the_component_of_the_component_definition(world, assessed) -> None:
    definition = json.loads(component_definition_json(world.use_case))["component-definition"]
    assert definition["components"][0]["uuid"] == component_uuid(world.use_case)


def test_a_closed_incident_and_a_passing_gate_are_no_findings(world) -> None:
    promoted = world.model()
    world.promote(promoted, Environment.STAGING)
    (result,) = _load(world.use_case).results
    assert result.findings is None
    assert any(_prop(o, "gate-outcome") == "pass" for o in result.observations)


def test_identifiers_stay_the_same_from_one_export_to_the_next(world, assessed) -> None:
    first, second = (json.loads(assessment_results_json(world.use_case))["assessment-results"] for _ in range(2))
    assert first["uuid"] != second["uuid"]  # each export is a document of its own
    for key in ("observations", "findings"):
        assert [o["uuid"] for o in first["results"][0][key]] == [o["uuid"] for o in second["results"][0][key]]
    assert first["results"][0]["uuid"] == second["results"][0]["uuid"]


def test_the_results_take_the_same_number_of_queries_however_many_records_there_are(world, assessed) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assessment_results_json(world.use_case)
        return len(captured)

    queries()  # the content types of signed records are cached from here on
    before = queries()
    #: gate decisions, dataset versions, change tickets, open incidents, their ledger entries, the signatures.
    assert before == 6
    more = world.model()
    world.promote(more, Environment.PROD)
    world.gate(more, rates={"safety": (1, 10)})
    incident_open(
        use_case=world.use_case,
        actor=world["mleng"],
        title="Another\nwith a second line",
        description="d",
        severity="sev3",
        source="complaint",
    )
    assert queries() == before


def test_whoever_may_view_the_use_case_downloads_it_from_its_page_recorded_as_an_export(
    client, world, assessed
) -> None:
    use_case = world.use_case
    auditor = world["auditor"]
    login_verified(client, auditor)
    url = reverse("admin:evidence_evidencepack_oscal_assessment_results", args=[use_case.pk])
    page = client.get(reverse("admin:governance_usecase_change", args=[use_case.pk]))
    assert url in page.content.decode()

    response = client.get(url)

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="support-assistant-assessment-results.json"'
    AssessmentResults.model_validate(json.loads(response.content)["assessment-results"])
    event = AccessEvent.objects.get(kind="export", object_id=str(use_case.pk))
    assert (event.user, event.detail["format"], event.detail["channel"]) == (
        auditor,
        "oscal-assessment-results",
        "admin",
    )
    assert LedgerEntry.objects.filter(action="export", object_id=str(use_case.pk)).exists()


def test_someone_who_may_not_view_use_cases_is_refused_and_nothing_is_exported(client, world, assessed) -> None:
    from django.contrib.auth import get_user_model

    outsider = get_user_model().objects.create_user(username="outsider", password="x" * 20, is_staff=True)
    login_verified(client, outsider)
    url = reverse("admin:evidence_evidencepack_oscal_assessment_results", args=[world.use_case.pk])
    assert client.get(url).status_code == 403
    assert not AccessEvent.objects.filter(kind="export").exists()


def test_an_unknown_use_case_is_404(client, world) -> None:
    login_verified(client, world["auditor"])
    url = reverse("admin:evidence_evidencepack_oscal_assessment_results", args=[999999])
    assert client.get(url).status_code == 404


def test_a_borderline_gate_rejected_after_human_review_is_a_finding_citing_its_signature(world) -> None:
    from accounts.demo import DEFAULT_DEMO_PASSWORD
    from registry.services.gates import gate_human_review

    gate = world.gate(world.model(), rates={"factuality": (94, 100)})
    assert gate.outcome == "borderline"
    gate = gate_human_review(
        decision=gate, reviewer=world["risk"], verdict="rejected", note="Too close.", password=DEFAULT_DEMO_PASSWORD
    )
    signature = Signature.objects.get(content_type__model="gatedecision", object_id=str(gate.pk))

    (result,) = _load(world.use_case).results

    (review,) = [o for o in result.observations if _prop(o, "signature-kind") == "gate-review"]
    assert _prop(review, "ledger-sequence") == str(signature.ledger_entry_id)
    assert _prop(review, "record") == f"gate-decision:{gate.pk}"
    assert abs(review.collected - signature.signed_at).total_seconds() < 0.001  # OSCAL keeps milliseconds
    (finding,) = result.findings
    assert _prop(finding, "record") == f"gate-decision:{gate.pk}"
    assert "rejected after human review" in finding.description
