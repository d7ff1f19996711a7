"""The content types of pipeline tokens (and their history and idempotent requests) follow them from the governance
app to the accounts app, so the permissions attached to them ("add pipeline token" ...) carry over unchanged."""

from django.db import migrations

MOVED = ("pipelinetoken", "historicalpipelinetoken", "idempotentrequest")


def _relabel(apps, schema_editor, *, old: str, new: str) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not content_type.objects.filter(app_label=new, model=model).exists():
            content_type.objects.filter(app_label=old, model=model).update(app_label=new)


def forwards(apps, schema_editor) -> None:
    _relabel(apps, schema_editor, old="governance", new="accounts")


def backwards(apps, schema_editor) -> None:
    _relabel(apps, schema_editor, old="accounts", new="governance")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_pipeline_tokens_move_from_governance"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
