"""Grants Auditor, Risk Officer and Compliance Reviewer the evidence pack permissions (see governance.roles)."""

from django.db import migrations

from governance.roles import grant_role_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0001_evidence_pack"),
    ]

    operations = [migrations.RunPython(grant_role_permissions, migrations.RunPython.noop, elidable=False)]
