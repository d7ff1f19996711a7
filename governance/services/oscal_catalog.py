"""Importing a control catalogue published in OSCAL (NIST SP 800-53, the NIST AI RMF, an organisation's own), read
and validated with compliance-trestle's OSCAL models, into a control framework.

Like the shipped catalogue's loader it never deletes: controls that policies map to survive a catalogue update, and
a control missing from a newer catalogue stays. Titles and OSCAL ids are corrected. Each import is one ledger entry
naming the file's SHA-256 and what it changed, so an auditor can tell which catalogue the mappings were made
against."""

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import transaction
from django.utils.text import slugify
from pydantic import ValidationError as OscalInvalid
from trestle.oscal.catalog import Catalog, Group1, Group2
from trestle.oscal.catalog import Control as OscalControl

from audit import ledger
from audit.choices import LedgerAction
from governance.models import Control, ControlFramework

#: Control ids (``label`` props, else OSCAL ids) and titles longer than the columns are refused, never cut.
IDENTIFIER_MAX, TITLE_MAX = 60, 200


class CatalogRefused(Exception):
    """The file is not an OSCAL catalog this portal can take; nothing was changed. The message says why."""


@dataclass(frozen=True)
class CatalogImported:
    framework: ControlFramework
    created: int
    updated: int
    unchanged: int
    sha256: str


def _label(control: OscalControl) -> str:
    """What people call the control: its ``label`` prop (``AC-2(1)``), else its OSCAL id."""
    return next((prop.value for prop in control.props or () if prop.name == "label"), control.id)


def _controls(groups: list[Group1 | Group2] | None, controls: list[OscalControl] | None) -> Iterator[OscalControl]:
    """Every control, enhancements included, in document order. (trestle's models split a group into one of groups
    (``Group1``) and one of controls (``Group2``).)"""
    for control in controls or ():
        yield control
        yield from _controls(None, control.controls)
    for group in groups or ():
        yield from _controls(getattr(group, "groups", None), getattr(group, "controls", None))


def _parse(raw: bytes) -> Catalog:
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise CatalogRefused(f"The file is not JSON: {error}.") from error
    if not isinstance(document, dict) or not isinstance(document.get("catalog"), dict):
        raise CatalogRefused('The file is not an OSCAL catalog: its top level has no "catalog" object.')
    try:
        return Catalog.model_validate(document["catalog"])
    except OscalInvalid as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise CatalogRefused(f"The catalog does not validate against OSCAL at {where}: {first['msg']}.") from error


def control_catalogue_import_oscal(*, raw: bytes, framework_code: str = "", actor_name: str) -> CatalogImported:
    """Create or update the framework ``framework_code`` (default: from the catalog's title) from an OSCAL catalog."""
    catalog = _parse(raw)
    code = framework_code or slugify(catalog.metadata.title)[:40]
    if not re.fullmatch(r"[-a-z0-9_]{1,40}", code):
        raise CatalogRefused(f"{code!r} is not a framework code: use up to 40 lowercase letters, digits and hyphens.")
    wanted: dict[str, tuple[str, str]] = {}
    for control in _controls(catalog.groups, catalog.controls):
        identifier, title = _label(control), control.title
        if len(identifier) > IDENTIFIER_MAX or len(title) > TITLE_MAX:
            raise CatalogRefused(
                f"Control {control.id}: its label may have {IDENTIFIER_MAX} characters and its title {TITLE_MAX}."
            )
        wanted[identifier] = (title, control.id)
    if not wanted:
        raise CatalogRefused("The catalog holds no controls.")
    digest = hashlib.sha256(raw).hexdigest()
    with transaction.atomic():
        named = {"name": catalog.metadata.title[:200], "version": (catalog.metadata.version or "")[:40]}
        framework, framework_created = ControlFramework.objects.select_for_update().update_or_create(
            code=code, defaults=named
        )
        existing = {control.identifier: control for control in Control.objects.filter(framework=framework)}
        created, updated = [], []
        for identifier, (title, oscal_id) in wanted.items():
            control = existing.get(identifier)
            if control is None:
                created.append(Control(framework=framework, identifier=identifier, title=title, oscal_id=oscal_id))
            elif (control.title, control.oscal_id) != (title, oscal_id):
                control.title, control.oscal_id = title, oscal_id
                updated.append(control)
        Control.objects.bulk_create(created)
        Control.objects.bulk_update(updated, ["title", "oscal_id"])
        report = CatalogImported(
            framework=framework,
            created=len(created),
            updated=len(updated),
            unchanged=len(wanted) - len(created) - len(updated),
            sha256=digest,
        )
        ledger.append(
            action=LedgerAction.CREATE if framework_created else LedgerAction.UPDATE,
            obj=framework,
            actor_name=actor_name,
            payload={
                "kind": "oscal_catalog_import",
                "catalog_title": catalog.metadata.title,
                "catalog_version": catalog.metadata.version,
                "catalog_uuid": str(catalog.uuid),
                "sha256": digest,
                "controls_created": report.created,
                "controls_updated": report.updated,
                "controls_unchanged": report.unchanged,
            },
        )
    return report
