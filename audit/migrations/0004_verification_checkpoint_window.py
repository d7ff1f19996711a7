"""Each verification run keeps the tail it found no checkpoint outside the database covering: how many entries, after
which checkpoint, made when."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_ledger_state_replay"),
    ]

    operations = [
        migrations.AddField(
            model_name="ledgerverification",
            name="entries_after_checkpoint",
            field=models.BigIntegerField(blank=True, null=True, verbose_name="entries after the newest checkpoint"),
        ),
        migrations.AddField(
            model_name="ledgerverification",
            name="newest_checkpoint_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="newest checkpoint made at (UTC)"),
        ),
        migrations.AddField(
            model_name="ledgerverification",
            name="newest_checkpoint_size",
            field=models.BigIntegerField(blank=True, null=True, verbose_name="newest checkpoint (entries)"),
        ),
    ]
