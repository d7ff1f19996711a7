"""A pack counts the renders started on it, so that a pack left rendering is requeued a bounded number of times
and a render given up on cannot finish it afterwards."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0003_checkpoint_in_audit"),
    ]

    operations = [
        migrations.AddField(
            model_name="evidencepack",
            name="attempts",
            field=models.PositiveSmallIntegerField(default=0, verbose_name="render attempts"),
        ),
    ]
