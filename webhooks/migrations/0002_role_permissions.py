"""Grants Security Reviewers the management of webhooks and Auditors their read access (see governance.roles)."""

from django.db import migrations

from governance.roles import grant_role_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_webhooks"),
    ]

    operations = [migrations.RunPython(grant_role_permissions, migrations.RunPython.noop, elidable=False)]
