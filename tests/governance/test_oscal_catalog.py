"""``manage.py load_controls --oscal``: an OSCAL catalog into a control framework, updating, never deleting."""

import copy
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from audit.models import LedgerEntry
from governance.models import Control, ControlFramework

pytestmark = pytest.mark.django_db

CATALOG = {
    "catalog": {
        "uuid": "5a0f3b6e-2c1d-4c3e-9f1a-0b2c3d4e5f60",
        "metadata": {
            "title": "Example Security Controls",
            "last-modified": "2026-01-01T00:00:00+00:00",
            "version": "5.1.1",
            "oscal-version": "1.1.2",
        },
        "groups": [
            {
                "id": "ac",
                "class": "family",
                "title": "Access Control",
                "controls": [
                    {
                        "id": "ac-2",
                        "title": "Account Management",
                        "props": [{"name": "label", "value": "AC-2"}],
                        "controls": [
                            {
                                "id": "ac-2.1",
                                "title": "Automated System Account Management",
                                "props": [{"name": "label", "value": "AC-2(1)"}],
                            }
                        ],
                    }
                ],
            },
            {
                "id": "x",
                "title": "Families of families",
                "groups": [{"id": "ac-x", "title": "Nested", "controls": [{"id": "ac-9", "title": "Nested control"}]}],
            },
            {"id": "au", "title": "Audit", "controls": [{"id": "au-2", "title": "Event Logging"}]},
        ],
    }
}


def _write(tmp_path, document, name="catalog.json"):
    path = tmp_path / name
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return path


def _load(path, *extra):
    out = StringIO()
    call_command("load_controls", "--oscal", str(path), *extra, stdout=out)
    return out.getvalue()


def test_every_control_enhancement_and_nested_group_becomes_a_control(tmp_path) -> None:
    output = _load(_write(tmp_path, CATALOG), "--framework", "sp800-53")

    framework = ControlFramework.objects.get(code="sp800-53")
    assert (framework.name, framework.version) == ("Example Security Controls", "5.1.1")
    stored = set(framework.controls.values_list("identifier", "title", "oscal_id"))
    assert stored == {
        ("AC-2", "Account Management", "ac-2"),
        ("AC-2(1)", "Automated System Account Management", "ac-2.1"),
        ("ac-9", "Nested control", "ac-9"),
        ("au-2", "Event Logging", "au-2"),
    }
    assert "4 controls created, 0 updated, 0 unchanged" in output


def test_the_import_is_one_ledger_entry_naming_the_file(tmp_path) -> None:
    path = _write(tmp_path, CATALOG)
    _load(path)

    entry = LedgerEntry.objects.get(object_type="governance.controlframework")
    assert entry.payload["kind"] == "oscal_catalog_import"
    assert entry.payload["controls_created"] == 4
    import hashlib

    assert entry.payload["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert ControlFramework.objects.filter(code="example-security-controls").exists()  # code from the title


def test_a_newer_catalog_updates_titles_and_deletes_nothing(tmp_path) -> None:
    _load(_write(tmp_path, CATALOG), "--framework", "sp800-53")
    newer = copy.deepcopy(CATALOG)
    newer["catalog"]["metadata"]["version"] = "5.2.0"
    newer["catalog"]["groups"][0]["controls"][0]["title"] = "Account Management (revised)"
    del newer["catalog"]["groups"][2]  # au-2 withdrawn upstream

    output = _load(_write(tmp_path, newer, "newer.json"), "--framework", "sp800-53")

    framework = ControlFramework.objects.get(code="sp800-53")
    assert framework.version == "5.2.0"
    assert Control.objects.get(framework=framework, identifier="AC-2").title == "Account Management (revised)"
    assert Control.objects.filter(framework=framework, identifier="au-2").exists()
    assert "0 controls created, 1 updated, 2 unchanged" in output


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "not JSON"),
        ({"profile": {}}, 'no "catalog" object'),
        ({"catalog": {"uuid": "not-a-uuid", "metadata": CATALOG["catalog"]["metadata"]}}, "at uuid"),
        ({"catalog": {**CATALOG["catalog"], "groups": [{"id": "g", "title": "Empty", "parts": []}]}}, "parts"),
        ({"catalog": {key: CATALOG["catalog"][key] for key in ("uuid", "metadata")}}, "holds no controls"),
        (
            {
                "catalog": {key: CATALOG["catalog"][key] for key in ("uuid", "metadata")}
                | {"controls": [{"id": "x-1", "title": "T" * 201}]}
            },
            "title 200",
        ),
    ],
)
def test_a_file_that_is_not_a_usable_catalog_changes_nothing_and_says_why(tmp_path, document, message) -> None:
    before = (ControlFramework.objects.count(), Control.objects.count(), LedgerEntry.objects.count())

    with pytest.raises(CommandError, match=message):
        _load(_write(tmp_path, document), "--framework", "broken")

    assert (ControlFramework.objects.count(), Control.objects.count(), LedgerEntry.objects.count()) == before


def test_a_bad_framework_code_or_missing_file_is_refused(tmp_path) -> None:
    with pytest.raises(CommandError, match="not a framework code"):
        _load(_write(tmp_path, CATALOG), "--framework", "Not A Code!")
    with pytest.raises(CommandError, match="Cannot read"):
        _load(tmp_path / "missing.json")
    with pytest.raises(CommandError, match="give --oscal too"):
        call_command("load_controls", "--framework", "x", stdout=StringIO())
