"""The shipped control catalogues and their loader.

A migration loads the catalogue, so the database may already hold it: every test loads it itself and never
assumes an empty table.
"""

from io import StringIO

import pytest
from django.core.management import call_command

from governance.catalogue import CATALOGUE, catalogue_size, load_controls
from governance.models.controls import Control, ControlFramework

pytestmark = pytest.mark.django_db

REQUIRED_FRAMEWORKS = {"soc2", "nist-ai-rmf", "eu-ai-act", "gdpr", "hipaa", "pci-dss", "iso-42001"}

SPOT_CHECKS = [
    ("soc2", "CC6.1"),
    ("soc2", "CC7.2"),
    ("soc2", "CC8.1"),
    ("gdpr", "Art. 5"),
    ("gdpr", "Art. 6"),
    ("gdpr", "Art. 35"),
    ("eu-ai-act", "Art. 9"),
    ("eu-ai-act", "Art. 73"),
    ("hipaa", "164.312(b)"),
    ("pci-dss", "3.4"),
    ("pci-dss", "10.2"),
    ("nist-ai-rmf", "GOVERN 1.1"),
    ("nist-ai-rmf", "MEASURE 2.11"),
    ("nist-ai-rmf", "MANAGE 4.1"),
    ("iso-42001", "A.6.2.4"),
]


def test_loading_stores_every_required_framework() -> None:
    load_controls()

    assert set(ControlFramework.objects.values_list("code", flat=True)) >= REQUIRED_FRAMEWORKS
    assert {framework.code for framework in CATALOGUE} == REQUIRED_FRAMEWORKS


@pytest.mark.parametrize(("code", "identifier"), SPOT_CHECKS)
def test_loading_stores_well_known_controls(code: str, identifier: str) -> None:
    load_controls()

    assert Control.objects.filter(framework__code=code, identifier=identifier).exists()


def test_loading_stores_every_catalogue_control_with_its_title() -> None:
    load_controls()

    stored = set(Control.objects.values_list("framework__code", "identifier", "title"))
    shipped = {
        (framework.code, identifier, title) for framework in CATALOGUE for identifier, title in framework.controls
    }
    assert shipped <= stored
    assert ControlFramework.objects.get(code="soc2").version == "2017 (rev. 2022)"


def test_reloading_changes_nothing_in_few_queries(django_assert_max_num_queries) -> None:
    load_controls()

    with django_assert_max_num_queries(30):
        assert load_controls() == (0, 0)


def test_first_load_into_empty_tables_is_a_handful_of_queries_per_framework(
    django_assert_max_num_queries,
) -> None:
    Control.objects.all().delete()
    ControlFramework.objects.all().delete()
    frameworks, controls = catalogue_size()

    with django_assert_max_num_queries(5 * frameworks):
        assert load_controls() == (frameworks, controls)


def test_reloading_restores_a_changed_title() -> None:
    load_controls()
    Control.objects.filter(framework__code="soc2", identifier="CC6.1").update(title="Edited by hand")

    assert load_controls() == (0, 1)
    assert Control.objects.get(framework__code="soc2", identifier="CC6.1").title == dict(CATALOGUE[0].controls)["CC6.1"]


def test_reloading_restores_a_changed_framework_name() -> None:
    load_controls()
    ControlFramework.objects.filter(code="gdpr").update(name="Renamed", version="old")

    assert load_controls() == (1, 0)
    gdpr = ControlFramework.objects.get(code="gdpr")
    assert (gdpr.name, gdpr.version) == ("General Data Protection Regulation", "Regulation (EU) 2016/679")


def test_reloading_keeps_controls_that_users_added() -> None:
    load_controls()
    soc2 = ControlFramework.objects.get(code="soc2")
    custom = Control.objects.create(framework=soc2, identifier="ACME-1", title="Our own extra control")

    load_controls()

    assert Control.objects.filter(pk=custom.pk, title="Our own extra control").exists()


def test_reloading_recreates_a_deleted_control() -> None:
    load_controls()
    Control.objects.filter(framework__code="gdpr", identifier="Art. 22").delete()

    assert load_controls() == (0, 1)
    assert Control.objects.filter(framework__code="gdpr", identifier="Art. 22").exists()


@pytest.mark.parametrize("framework", CATALOGUE, ids=lambda framework: framework.code)
def test_catalogue_titles_are_short_and_unique_within_a_framework(framework) -> None:
    identifiers = [identifier for identifier, _title in framework.controls]
    titles = [title for _identifier, title in framework.controls]

    assert len(set(identifiers)) == len(identifiers)
    assert len(set(titles)) == len(titles)
    assert all(0 < len(title) <= 120 for title in titles)
    assert all(len(identifier) <= 60 for identifier in identifiers)


def test_load_controls_command_prints_a_summary() -> None:
    call_command("load_controls", stdout=StringIO())
    out = StringIO()

    call_command("load_controls", stdout=out)

    frameworks, controls = catalogue_size()
    assert out.getvalue().strip() == (
        f"Control catalogues: {frameworks} frameworks, {controls} controls (0 created or updated)."
    )


def test_the_install_migration_creates_what_the_loader_would_from_the_same_file() -> None:
    from importlib import import_module

    from django.apps import apps
    from django.db import connection

    install = import_module("governance.migrations.0005_load_control_catalogues")
    Control.objects.all().delete()
    ControlFramework.objects.all().delete()

    install.create_missing_controls(apps, connection.schema_editor())

    assert load_controls() == (0, 0)
    assert Control.objects.count() == catalogue_size()[1]
