"""Once granted the webhook permissions; now empty (roles are synchronised after every migrate)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_webhooks"),
    ]

    # The role groups and their permissions are synchronised after every migrate (a post_migrate handler of the
    # governance app); this migration once did it itself and stays for the migration history.
    operations = []
