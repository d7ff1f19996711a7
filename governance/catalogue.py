"""The control catalogues the product ships: frameworks and their controls, as data, and their loader.

Regulated enterprises are audited against a handful of frameworks (SOC 2, the NIST AI RMF, the EU AI Act,
GDPR, HIPAA, PCI DSS, ISO/IEC 42001). Policies and requirements map onto the controls of those frameworks,
so an auditor can go from "CC6.1" or "Art. 14" to the policies that meet it and the evidence behind them.

The catalogue holds identifiers and our own short titles only, never a standard's text: most of these
standards are copyrighted, and a title here is a paraphrase to recognise a control by, not its wording.
Read the standard itself for what a control requires.

The catalogue itself is data (``data/control_catalogue.json``). The install migration creates it from that file
with its own few lines, importing nothing of this module; ``load_controls`` (``manage.py load_controls``) brings a
database up to a later catalogue. It is an upsert: it creates what is missing and corrects names, versions and
titles, but never deletes, because a control that a policy maps to must survive a catalogue update, and users may
add controls of their own.
"""

import json
from pathlib import Path
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS, transaction

from governance.models.controls import Control, ControlFramework


class CatalogueFramework(NamedTuple):
    code: str
    name: str
    version: str
    #: (identifier, short title) pairs, in the framework's own order.
    controls: tuple[tuple[str, str], ...]


#: The shipped catalogue, kept as data beside this module so the install migration reads the same file
#: without importing this code.
CATALOGUE_FILE = Path(__file__).resolve().parent / "data" / "control_catalogue.json"


def _read_catalogue() -> tuple[CatalogueFramework, ...]:
    document = json.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))
    return tuple(
        CatalogueFramework(
            code=framework["code"],
            name=framework["name"],
            version=framework["version"],
            controls=tuple((control["id"], control["title"]) for control in framework["controls"]),
        )
        for framework in document["frameworks"]
    )


#: Every framework the product ships, in display order.
CATALOGUE: tuple[CatalogueFramework, ...] = _read_catalogue()


def catalogue_size() -> tuple[int, int]:
    """(frameworks, controls) in the shipped catalogue."""
    return len(CATALOGUE), sum(len(framework.controls) for framework in CATALOGUE)


def load_controls(*, using: str = DEFAULT_DB_ALIAS) -> tuple[int, int]:
    """Upsert the catalogue; returns (frameworks created or updated, controls created or updated).

    Creates missing frameworks and controls and corrects changed names, versions and titles. Never deletes:
    controls no longer in the catalogue, or added by users, stay, with the policies mapped to them.
    Two queries per framework when nothing changed, plus one for all frameworks.
    """
    frameworks_changed = controls_changed = 0
    with transaction.atomic(using=using):
        frameworks = ControlFramework.objects.using(using)
        existing_frameworks = {
            framework.code: framework for framework in frameworks.filter(code__in=[spec.code for spec in CATALOGUE])
        }
        for spec in CATALOGUE:
            framework = existing_frameworks.get(spec.code)
            if framework is None:
                framework = frameworks.create(code=spec.code, name=spec.name, version=spec.version)
                frameworks_changed += 1
                existing_controls = {}
            else:
                if (framework.name, framework.version) != (spec.name, spec.version):
                    framework.name, framework.version = spec.name, spec.version
                    framework.save(using=using, update_fields=["name", "version"])
                    frameworks_changed += 1
                existing_controls = {
                    control.identifier: control for control in Control.objects.using(using).filter(framework=framework)
                }

            missing, retitled = [], []
            for identifier, title in spec.controls:
                control = existing_controls.get(identifier)
                if control is None:
                    missing.append(Control(framework=framework, identifier=identifier, title=title))
                elif control.title != title:
                    control.title = title
                    retitled.append(control)
            if missing:
                Control.objects.using(using).bulk_create(missing)
            if retitled:
                Control.objects.using(using).bulk_update(retitled, ["title"])
            controls_changed += len(missing) + len(retitled)
    return frameworks_changed, controls_changed
