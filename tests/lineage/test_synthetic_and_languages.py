"""A lineage source carries the languages of its data (BCP 47) and, like a transformation step, may be marked as
synthetic with its generator model and version, prompt template digest and share of the version: entered on the
version's page or through the API, refused with a message beside the field when malformed, kept in the history."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from audit.canonical import record_digest
from audit.models import LedgerEntry
from lineage.choices import LegalBasis, TransformationKind
from lineage.models import DatasetVersion, LineageSource, TransformationStep
from lineage.models.synthetic import normalised_language
from lineage.services import lineage_source_add, transformation_step_add
from tests.lineage.conftest import SYNTHETIC, TEMPLATE, new_version
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db


def url(name: str, version: DatasetVersion) -> str:
    return reverse(f"admin:lineage_datasetversion_{name}", args=[version.pk])


@pytest.fixture
def draft(engineer, support_chats):
    return new_version(support_chats, engineer)


@pytest.mark.parametrize(
    ("typed", "kept"),
    [("en", "en"), ("DE-ch", "de-CH"), ("zh-hant-tw", "zh-Hant-TW"), ("es-419", "es-419"), ("sl-rozaj", "sl-rozaj")],
)
def test_language_tags_are_kept_in_their_canonical_case(typed, kept) -> None:
    assert normalised_language(typed) == kept


@pytest.mark.parametrize("typed", ["english", "e", "en_US", "en-", "x-private", "", 7, "de-CH-1901-x"])
def test_what_is_not_a_language_tag_is_refused(typed) -> None:
    with pytest.raises(ValueError, match="is not a BCP 47 language tag"):
        normalised_language(typed)


def test_a_synthetic_source_with_its_languages_is_recorded_with_its_history(engineer, draft, crm) -> None:
    source = lineage_source_add(
        version=draft,
        actor=engineer,
        source_system=crm,
        legal_basis=LegalBasis.CONTRACT,
        languages=["fr", "DE-ch", "en"],
        **SYNTHETIC,
    )

    source.refresh_from_db()
    assert source.languages == ["de-CH", "en", "fr"]
    assert (source.synthetic, source.generator_model, str(source.synthetic_share)) == (
        True,
        "Llama-3.1-70B-Instruct",
        "0.2500",
    )
    assert source.history.get().prompt_template_digest == TEMPLATE
    assert LedgerEntry.objects.filter(object_type="lineage.lineagesource", object_id=str(source.pk)).exists()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"languages": ["en", "klingon-tlh"]}, "languages", "not a BCP 47 language tag"),
        ({"languages": ["en", "EN"]}, "languages", "en is given twice"),
        ({**SYNTHETIC, "generator_model": ""}, "generator_model", "names its generator model"),
        ({**SYNTHETIC, "prompt_template_digest": "abc"}, "prompt_template_digest", "64 lowercase hexadecimal"),
        ({**SYNTHETIC, "synthetic_share": "0"}, "synthetic_share", "more than 0 and at most 1"),
        ({**SYNTHETIC, "synthetic_share": "1.5"}, "synthetic_share", "more than 0 and at most 1"),
        ({"generator_model": "gpt-4o"}, "generator_model", "Only synthetic data has a generator"),
    ],
    ids=["bad-tag", "twice", "no-generator", "bad-digest", "zero-share", "share-above-one", "generator-not-synthetic"],
)
def test_a_malformed_source_is_refused_by_the_service_and_nothing_is_saved(
    engineer, draft, crm, fields, field, message
) -> None:
    with pytest.raises(ValidationError) as refused:
        lineage_source_add(version=draft, actor=engineer, source_system=crm, legal_basis=LegalBasis.CONTRACT, **fields)

    assert message in " ".join(refused.value.message_dict[field])
    assert not LineageSource.objects.exists()


def test_the_database_refuses_a_synthetic_marker_without_its_generator(engineer, draft, crm) -> None:
    source = lineage_source_add(version=draft, actor=engineer, source_system=crm, legal_basis=LegalBasis.CONTRACT)
    source.synthetic = True

    with pytest.raises(IntegrityError), transaction.atomic():
        source.save()


def test_a_step_that_generated_data_carries_the_marker_and_a_half_marked_one_is_refused(engineer, draft) -> None:
    step = transformation_step_add(
        version=draft,
        actor=engineer,
        kind=TransformationKind.FILTER,
        tool="paraphraser",
        code_version="9c1",
        **SYNTHETIC,
    )
    assert (step.synthetic, step.generator_version) == (True, "2024-07")

    with pytest.raises(ValidationError) as refused:
        transformation_step_add(
            version=draft, actor=engineer, kind=TransformationKind.FILTER, tool="x", code_version="1", synthetic=True
        )
    assert set(refused.value.message_dict) == {
        "generator_model",
        "generator_version",
        "prompt_template_digest",
        "synthetic_share",
    }
    with pytest.raises(TypeError, match="generator_temperature"):
        transformation_step_add(
            version=draft, actor=engineer, kind="filter", tool="x", code_version="1", generator_temperature=0.7
        )
    assert TransformationStep.objects.count() == 1


# --- on the version's page ------------------------------------------------------------------------------------


def test_an_author_adds_a_synthetic_source_with_languages_on_the_page(client: Client, engineer, draft, crm) -> None:
    login_verified(client, engineer)
    form = {"source_system": crm.pk, "legal_basis": LegalBasis.CONTRACT, "languages": "en, de-ch fr", **SYNTHETIC}

    response = client.post(url("add_source", draft), {**form, "synthetic": "on"})

    assert response.status_code == 302
    source = LineageSource.objects.get()
    assert (source.languages, source.synthetic) == (["de-CH", "en", "fr"], True)
    page = client.get(url("change", draft)).content.decode()
    assert "Llama-3.1-70B-Instruct" in page


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"languages": "en, english"}, "languages", "'english' is not a BCP 47 language tag"),
        ({"languages": "en " * 400}, "languages", "at most 1000 characters"),
        ({**SYNTHETIC, "synthetic": "on", "synthetic_share": "2"}, "synthetic_share", "at most 1"),
        ({**SYNTHETIC, "synthetic": "on", "prompt_template_digest": "z" * 64}, "prompt_template_digest", "SHA-256"),
        ({"generator_model": "gpt-4o"}, "generator_model", "Only synthetic data has a generator"),
    ],
    ids=["bad-tag", "oversized", "share", "digest", "not-synthetic"],
)
def test_a_malformed_marker_or_language_is_a_form_error_and_nothing_is_saved(
    client: Client, engineer, draft, crm, fields, field, message
) -> None:
    login_verified(client, engineer)
    entries = LedgerEntry.objects.count()

    response = client.post(
        url("add_source", draft), {"source_system": crm.pk, "legal_basis": LegalBasis.CONTRACT, **fields}
    )

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not LineageSource.objects.exists()
    assert LedgerEntry.objects.count() == entries


def test_a_step_form_with_a_half_filled_marker_is_refused(client: Client, engineer, draft) -> None:
    login_verified(client, engineer)
    step = {"kind": TransformationKind.FILTER, "tool": "paraphraser", "code_version": "9c1", "parameters": ""}

    refused = client.post(url("add_step", draft), {**step, "synthetic": "on", "generator_model": "gpt-4o"})
    accepted = client.post(url("add_step", draft), {**step, **SYNTHETIC, "synthetic": "on"})

    assert refused.status_code == 400
    assert "synthetic_share" in refused.context["form"].errors
    assert accepted.status_code == 302
    assert TransformationStep.objects.get().synthetic_share is not None


def test_a_legal_reviewer_may_not_add_a_source(client: Client, legal, draft, crm) -> None:
    login_verified(client, legal)

    response = client.post(
        url("add_source", draft),
        {"source_system": crm.pk, "legal_basis": LegalBasis.CONTRACT, "languages": "en", **SYNTHETIC},
    )

    assert response.status_code == 403
    assert not LineageSource.objects.exists()


def test_a_reviewer_signs_the_languages_and_marker_and_an_unmarked_record_digests_as_before(
    engineer, draft, crm
) -> None:
    unmarked = lineage_source_add(version=draft, actor=engineer, source_system=crm, legal_basis=LegalBasis.CONTRACT)
    [entry] = draft.lineage.digest_content()["sources"]
    assert entry == [crm.pk, LegalBasis.CONTRACT, False, "", None, None], "six items, as signed before"
    before = record_digest(draft)

    other = new_version(draft.dataset, engineer)
    lineage_source_add(
        version=other, actor=engineer, source_system=crm, legal_basis=LegalBasis.CONTRACT, languages=["en"], **SYNTHETIC
    )
    [marked] = other.lineage.digest_content()["sources"]

    assert marked[-1] == {
        "languages": ["en"],
        "synthetic": {
            "generator_model": "Llama-3.1-70B-Instruct",
            "generator_version": "2024-07",
            "prompt_template_digest": TEMPLATE,
            "share": "0.2500",
        },
    }
    assert record_digest(draft) == before
    assert unmarked.described_data() == []
