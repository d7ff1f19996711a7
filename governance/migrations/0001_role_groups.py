"""Once created the role groups; now empty: they and their permissions are synchronised after every migrate."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    # The role groups and their permissions are synchronised after every migrate (a post_migrate handler of the
    # governance app); this migration once did it itself and stays for the migration history.
    operations = []
