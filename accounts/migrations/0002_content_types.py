"""The session index's content type follows it from the governance app to the accounts app."""

from django.db import migrations


def _relabel(apps, schema_editor, *, old: str, new: str) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    if not content_type.objects.filter(app_label=new, model="usersession").exists():
        content_type.objects.filter(app_label=old, model="usersession").update(app_label=new)


def forwards(apps, schema_editor) -> None:
    _relabel(apps, schema_editor, old="governance", new="accounts")


def backwards(apps, schema_editor) -> None:
    _relabel(apps, schema_editor, old="accounts", new="governance")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
