"""Once granted the lineage permissions; now empty (roles are synchronised after every migrate)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("lineage", "0001_lineage_models"),
        ("governance", "0006_order_without_joins"),
    ]

    # The role groups and their permissions are synchronised after every migrate (a post_migrate handler of the
    # governance app); this migration once did it itself and stays for the migration history.
    operations = []
