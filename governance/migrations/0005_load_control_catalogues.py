"""Ships the control catalogues (SOC 2, NIST AI RMF, EU AI Act, GDPR, HIPAA, PCI DSS, ISO/IEC 42001) with every
install, read from the catalogue data file; it imports no code of the app, so it runs the same however that code
changes. Later catalogue updates run ``manage.py load_controls``, which never deletes a control."""

import json
from pathlib import Path

from django.db import migrations

CATALOGUE_FILE = Path(__file__).resolve().parent.parent / "data" / "control_catalogue.json"


def create_missing_controls(apps, schema_editor):
    """Creates the frameworks and controls the database lacks; changes nothing that is there."""
    ControlFramework = apps.get_model("governance", "ControlFramework")
    Control = apps.get_model("governance", "Control")
    database = schema_editor.connection.alias
    for spec in json.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))["frameworks"]:
        framework, _created = ControlFramework.objects.using(database).get_or_create(
            code=spec["code"], defaults={"name": spec["name"], "version": spec["version"]}
        )
        present = set(Control.objects.using(database).filter(framework=framework).values_list("identifier", flat=True))
        Control.objects.using(database).bulk_create(
            Control(framework=framework, identifier=control["id"], title=control["title"])
            for control in spec["controls"]
            if control["id"] not in present
        )


class Migration(migrations.Migration):
    dependencies = [("governance", "0004_governance_domain")]

    operations = [migrations.RunPython(create_missing_controls, migrations.RunPython.noop, elidable=False)]
