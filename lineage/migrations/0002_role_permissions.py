"""Grants the roles their permissions on the lineage models (see governance.roles)."""

from django.db import migrations

from governance.roles import grant_role_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("lineage", "0001_lineage_models"),
        ("governance", "0006_order_without_joins"),
    ]

    operations = [migrations.RunPython(grant_role_permissions, migrations.RunPython.noop, elidable=False)]
