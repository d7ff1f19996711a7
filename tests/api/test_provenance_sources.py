"""Through the pipeline API: a dataset version's sources carry their languages and synthetic marker (malformed
ones are a 400 naming the field, and nothing is kept); and a completed OpenLineage run that reports other rows or
bytes for a version's content than the version declares raises a provenance flag of that version, once committed."""

import uuid

import pytest
from django.urls import reverse
from openlineage.client.event_v2 import OutputDataset, RunState
from openlineage.client.facet_v2 import dataset_version_dataset, output_statistics_output_dataset

from audit.ledger import ActionDenied
from lineage.models import DatasetVersion, LineageSource, OpenLineageRun
from registry.choices import ProvenanceFlagKind, ProvenanceFlagSeverity, ProvenanceFlagState
from registry.models import ProvenanceFlag
from registry.services.provenance import dataset_version_flags_refresh, provenance_flag_resolve
from registry.tasks import check_provenance
from tests.api.test_openlineage import event, send, sha
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def lineage_pipeline(demo_lineage, issue):
    return issue(scopes=["lineage:write"])


SOURCE = {
    "source_system": "Salesforce CRM",
    "legal_basis": "contract",
    "languages": ["en", "de-ch"],
    "synthetic": True,
    "generator_model": "Llama-3.1-70B-Instruct",
    "generator_version": "2024-07",
    "prompt_template_digest": sha("paraphrase prompt v3"),
    "synthetic_share": "0.3",
}


def body(**source) -> dict:
    return {
        "dataset": "support-chats",
        "content_digest": sha("chats-synthetic"),
        "row_count": 1000,
        "size_bytes": 400_000,
        "storage_uri": "s3://datasets/support-chats/synthetic/",
        "sources": [{**SOURCE, **source}],
    }


def test_a_pipeline_records_a_synthetic_source_with_its_languages(pipeline) -> None:
    response = pipeline.post("/api/v1/dataset-versions", body())

    assert response.status_code == 201, response.json()
    source = LineageSource.objects.get(record__version_id=response.json()["id"])
    assert (source.languages, source.synthetic, source.generator_version) == (["de-CH", "en"], True, "2024-07")


@pytest.mark.parametrize(
    ("source", "field"),
    [
        ({"languages": ["en", "Deutsch"]}, "languages"),
        ({"languages": "en"}, "languages"),
        ({"languages": ["en"] * 51}, "languages"),
        ({"synthetic_share": "1.01"}, "synthetic_share"),
        ({"synthetic_share": "0"}, "synthetic_share"),
        ({"prompt_template_digest": "sha256:abc"}, "prompt_template_digest"),
        ({"generator_model": ""}, "generator_model"),
        ({"synthetic": False}, "generator_model"),
        ({"generator_model": "g" * 201}, "generator_model"),
    ],
    ids=[
        "bad-tag",
        "not-a-list",
        "too-many",
        "share-above-one",
        "zero-share",
        "bad-digest",
        "no-generator",
        "generator-not-synthetic",
        "oversized",
    ],
)
def test_a_malformed_source_is_400_naming_the_field_and_keeps_nothing(pipeline, source, field) -> None:
    before = DatasetVersion.objects.count()

    response = pipeline.post("/api/v1/dataset-versions", body(**source))

    assert response.status_code == 400, response.json()
    assert field in str(response.json()["errors"])
    assert DatasetVersion.objects.count() == before


# -- declared statistics against the pipeline's report -----------------------------------------------------------


def reported(version: DatasetVersion, *, rows: int, size: int) -> OutputDataset:
    return OutputDataset(
        namespace="s3://corpus",
        name=version.dataset.slug,
        facets={"version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=version.content_digest)},
        outputFacets={
            "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=rows, size=size
            )
        },
    )


@pytest.fixture
def approved() -> DatasetVersion:
    """support-chats@1 as the demo approved it: 40,000 rows, 16,000,000 bytes."""
    return DatasetVersion.objects.select_related("dataset").get(dataset__slug="support-chats", number=1)


def complete(pipeline, version: DatasetVersion, *, rows: int, size: int, capture) -> OpenLineageRun:
    run_id = str(uuid.uuid4())
    with capture(execute=True):
        response = send(pipeline, event(RunState.COMPLETE, run_id, outputs=[reported(version, rows=rows, size=size)]))
    assert response.status_code == 201, response.json()
    return OpenLineageRun.objects.get(run_id=run_id)


def test_a_run_reporting_other_rows_for_the_same_content_raises_a_flag_of_the_version(
    lineage_pipeline, approved, django_capture_on_commit_callbacks
) -> None:
    run = complete(lineage_pipeline, approved, rows=52_000, size=16_000_000, capture=django_capture_on_commit_callbacks)

    [flag] = ProvenanceFlag.objects.filter(dataset_version=approved)
    assert (flag.kind, flag.severity, flag.model_version) == (
        ProvenanceFlagKind.DATASET_STATISTICS_DIFFER,
        ProvenanceFlagSeverity.MEDIUM,
        None,
    )
    assert "support-chats@1 declares 40,000 rows" in flag.summary
    assert "reported 52,000" in flag.summary
    assert flag.evidence == {
        "statistic": "rowCount",
        "declared": 40_000,
        "reported": 52_000,
        "tolerance": "0",
        "openlineage_run": str(run.run_id),
        "records": [
            {"type": "lineage.datasetversion", "id": approved.pk, "label": str(approved)},
            {"type": "lineage.openlineagerun", "id": run.pk, "label": str(run)[:200]},
        ],
    }
    assert dataset_version_flags_refresh(dataset_version=approved) == []  # raised once
    assert check_provenance() == 0


def test_bytes_within_the_tolerance_raise_nothing_and_beyond_it_a_flag(
    lineage_pipeline, approved, django_capture_on_commit_callbacks, settings
) -> None:
    complete(lineage_pipeline, approved, rows=40_000, size=16_150_000, capture=django_capture_on_commit_callbacks)
    assert not ProvenanceFlag.objects.exists(), "0.9% more bytes: within the 1% a format change explains"

    settings.PROVENANCE_SIZE_TOLERANCE = "0.005"
    [flag] = dataset_version_flags_refresh(dataset_version=approved)
    assert flag.evidence["statistic"] == "size"


def test_a_dataset_flag_links_both_records_and_a_risk_officer_resolves_it_alone(
    client, demo_lineage, lineage_pipeline, approved, django_capture_on_commit_callbacks
) -> None:
    run = complete(lineage_pipeline, approved, rows=1, size=1, capture=django_capture_on_commit_callbacks)
    flags = list(ProvenanceFlag.objects.filter(dataset_version=approved).order_by("subject"))
    assert [flag.evidence["statistic"] for flag in flags] == ["rowCount", "size"]
    login_verified(client, demo_lineage["auditor"])

    page = client.get(reverse("admin:registry_provenanceflag_change", args=[flags[0].pk])).content.decode()

    assert reverse("admin:lineage_datasetversion_change", args=[approved.pk]) in page
    assert str(run.run_id) in page, "the run has no page of its own; it is named"
    note = "The pipeline counted rows before deduplication; the declared count is right."
    with pytest.raises(ActionDenied, match="Only a Risk Officer"):
        provenance_flag_resolve(flag=flags[0], actor=demo_lineage["mleng"], note=note)
    resolved = provenance_flag_resolve(flag=flags[0], actor=demo_lineage["risk"], note=note)
    assert resolved.state == ProvenanceFlagState.RESOLVED
