"""An incident cites the exact inference records that raised it, by id, trace and span, with a ledger entry."""

import datetime

import pytest
from django.utils import timezone

from audit.models import LedgerEntry
from inference.models import InferenceRecord
from inference.selectors import records_cited_by
from inference.services import incident_records_cite, inference_monitoring_rollup
from registry.models import Incident
from tests.inference.conftest import genai_attributes, post, two_versions_in_prod

pytestmark = pytest.mark.django_db


def test_a_monitoring_alert_cites_the_failed_and_escalated_answers_of_its_period(intake, world, spans):
    _first, _second, prod = two_versions_in_prod(world)
    made = spans()
    for number, outcome in enumerate(["fail", "escalated", "pass", "pass"]):
        made.add(**genai_attributes(**{"gen_ai.response.id": f"r{number}", "portal.response_classification": outcome}))
    post(intake, made.protobuf())
    end = timezone.now() + datetime.timedelta(seconds=1)

    summary = inference_monitoring_rollup(
        deployment=prod, actor=world["mleng"], period_start=end - datetime.timedelta(hours=1), period_end=end
    )

    assert sorted(records_cited_by(summary.incident).values_list("response_id", flat=True)) == ["r0", "r1"]
    entry = LedgerEntry.objects.filter(object_type="inference.inferencecitation").get()
    cited = entry.payload["inference_citation"]
    assert (cited["incident"], cited["reason"]) == (summary.incident.identifier, "monitoring alert")
    assert sorted(row[0] for row in cited["records"]) == sorted(
        InferenceRecord.objects.filter(response_id__in=["r0", "r1"]).values_list("pk", flat=True)
    )


def test_a_version_mismatch_incident_cites_the_answers_that_named_the_version(intake, world, spans):
    two_versions_in_prod(world)
    stray = world.model()
    made = spans()
    made.add(**genai_attributes(stray.identifier, **{"gen_ai.response.id": "stray"}))
    made.add(**genai_attributes(**{"gen_ai.response.id": "fine"}))
    post(intake, made.protobuf())

    incident = Incident.objects.get(model_version=stray)
    assert list(records_cited_by(incident).values_list("response_id", flat=True)) == ["stray"]


def test_a_record_is_cited_once(intake, world, spans):
    two_versions_in_prod(world)
    made = spans()
    made.add(**genai_attributes())
    post(intake, made.protobuf())
    record = InferenceRecord.objects.get()
    stray = world.model()
    other = spans()
    other.add(**genai_attributes(stray.identifier, **{"gen_ai.response.id": "stray"}))
    post(intake, other.protobuf())
    incident = Incident.objects.get(model_version=stray)
    entries = LedgerEntry.objects.count()

    assert incident_records_cite(incident=incident, records=[record], reason="by hand") == [record.pk]
    assert incident_records_cite(incident=incident, records=[record], reason="by hand") == []
    assert LedgerEntry.objects.count() == entries + 1
