"""What the reviewer sees beside the record: the risk score with its reasons, the changes since the previous
version, and the lineage picture."""

import xml.etree.ElementTree as ET

import pytest
from django.test import Client
from django.urls import reverse

from governance.revision_changes import ABSENT
from lineage.choices import LegalBasis, Sensitivity
from lineage.models import DatasetVersion
from lineage.review_page import changes_since_previous, lineage_svg
from lineage.risk import assess
from lineage.services import lineage_edge_add, lineage_record_update, lineage_source_add, transformation_step_add
from tests.lineage.conftest import SYNTHETIC, SYNTHETIC_READ, new_version, register_source
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db


def test_the_risk_score_adds_up_its_reasons(steward, engineer, support_chats) -> None:
    ehr = register_source(steward, "EHR", data_categories=["health"])
    version = new_version(
        support_chats,
        engineer,
        sensitivity=Sensitivity.RESTRICTED,
        data_categories=["health"],
        retention_days=3650,
    )
    lineage_source_add(
        version=version,
        actor=engineer,
        source_system=ehr,
        legal_basis=LegalBasis.CONSENT,
        special_category=True,
        article9_condition="explicit_consent",
    )

    risk = assess(version.lineage)

    assert risk.reasons == (
        "+40: Restricted data",
        "+25: special-category data (GDPR Art. 9)",
        "+10: health data",
        "+5: consent as legal basis: withdrawals and erasure requests are likely",
        "+15: personal data without privacy controls",
        "+5: kept 3650 days, more than three years",
    )
    assert (risk.score, risk.level) == (100, "critical")


def test_public_data_without_personal_categories_scores_low(engineer, support_chats) -> None:
    risk = assess(new_version(support_chats, engineer, sensitivity=Sensitivity.PUBLIC).lineage)

    assert (risk.score, risk.level, risk.reasons) == (0, "low", ())


def test_changes_since_the_previous_version_name_each_field_that_moved(engineer, support_chats) -> None:
    first = new_version(support_chats, engineer, retention_days=365)
    second = new_version(support_chats, engineer, retention_days=730)
    lineage_record_update(version=second, actor=engineer, privacy_controls=["redaction"])

    previous, changes = changes_since_previous(DatasetVersion.objects.get(pk=second.pk))
    fields = {name: (before, after) for name, before, after in changes}

    assert previous == first
    # Named as the forms name them, not by attribute.
    assert fields["retention (days)"] == (365, 730)
    assert fields["privacy controls applied"] == ("none", "redaction")
    assert "content digest (SHA-256)" in fields
    assert "retention_days" not in fields
    assert changes_since_previous(first) == (None, [])


def test_the_lineage_picture_is_valid_svg_with_sources_and_parents_and_escaped_labels(
    steward, engineer, support_chats, redacted_chats
) -> None:
    crm = register_source(steward, "CRM <script>")
    parent = new_version(support_chats, engineer)
    lineage_source_add(version=parent, actor=engineer, source_system=crm, legal_basis=LegalBasis.CONTRACT)
    child = new_version(redacted_chats, engineer)
    lineage_edge_add(child=child, parent=parent, actor=engineer)

    svg = lineage_svg(child)
    root = ET.fromstring(svg)  # noqa: S314 - our own output

    texts = [element.text for element in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "CRM <script>" in texts
    assert any(str(parent) in text for text in texts)
    assert any(str(child) in text for text in texts)
    assert len(list(root.iter("{http://www.w3.org/2000/svg}line"))) == 2
    assert "<script>" not in svg


def test_the_version_page_shows_risk_changes_and_graph(client: Client, engineer, support_chats, admin_user) -> None:
    new_version(support_chats, engineer)
    second = new_version(support_chats, engineer)
    login_verified(client, admin_user)

    page = client.get(reverse("admin:lineage_datasetversion_change", args=[second.pk])).content.decode()

    assert 'id="risk-score"' in page
    assert f"Changes since {support_chats.slug}@1" in page
    assert "<svg" in page


def test_changes_since_the_previous_version_name_a_sources_languages_and_synthetic_marker(
    steward, engineer, support_chats
) -> None:
    zendesk = register_source(steward, "Zendesk")
    first = new_version(support_chats, engineer)
    lineage_source_add(
        version=first, actor=engineer, source_system=zendesk, legal_basis=LegalBasis.CONTRACT, languages=["en"]
    )
    second = new_version(support_chats, engineer)
    lineage_source_add(
        version=second,
        actor=engineer,
        source_system=zendesk,
        legal_basis=LegalBasis.CONTRACT,
        languages=["en", "de"],
        **SYNTHETIC,
    )

    _previous, changes = changes_since_previous(DatasetVersion.objects.get(pk=second.pk))

    # Beside the new content, the source's own line (legal basis, period) did not move: only what its data is.
    assert [change for change in changes if change[0] != "content digest (SHA-256)"] == [
        ("Languages of Zendesk", "en", "de, en"),
        ("Zendesk marked synthetic", ABSENT, SYNTHETIC_READ),
    ]
    _previous, back = changes_since_previous(new_version(support_chats, engineer))
    assert ("Languages of Zendesk", "de, en", ABSENT) in back
    assert ("Zendesk marked synthetic", SYNTHETIC_READ, ABSENT) in back


def test_changes_since_the_previous_version_name_a_step_that_now_generates_data(engineer, support_chats) -> None:
    augment = {"kind": "augment", "tool": "datapipe.augment", "code_version": "a41c9e2"}
    first = new_version(support_chats, engineer)
    transformation_step_add(version=first, actor=engineer, **augment)
    second = new_version(support_chats, engineer)
    transformation_step_add(version=second, actor=engineer, **augment, **SYNTHETIC)

    _previous, changes = changes_since_previous(DatasetVersion.objects.get(pk=second.pk))

    assert ("Step 1 (augment) marked synthetic", ABSENT, SYNTHETIC_READ) in changes
    assert "transformations" not in {name for name, _before, _after in changes}
