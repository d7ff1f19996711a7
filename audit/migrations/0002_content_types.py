"""The moved models' content types follow them from the governance app to the audit app, so the permissions
attached to them (and every role group's grants of them) carry over unchanged."""

from django.db import migrations

MOVED = ("ledgerentry", "ledgercheckpoint", "ledgerverification", "signature", "accessevent")


def _relabel(apps, schema_editor, *, old: str, new: str) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not content_type.objects.filter(app_label=new, model=model).exists():
            content_type.objects.filter(app_label=old, model=model).update(app_label=new)


def forwards(apps, schema_editor) -> None:
    _relabel(apps, schema_editor, old="governance", new="audit")


def backwards(apps, schema_editor) -> None:
    _relabel(apps, schema_editor, old="audit", new="governance")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
