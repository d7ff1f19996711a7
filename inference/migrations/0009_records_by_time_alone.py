"""The period index of inference records, ``(use_case, environment, started_at)``, becomes one on ``started_at``
alone. On PostgreSQL each partition holds one use case, so the leading use case cost every entry eight bytes and
kept the index from giving the newest records across partitions: the admin's list of records and an incident's
newest citations sorted every record instead. By time alone, a monitoring rollup still reads only its period (its
use case chooses the partitions), and the newest come straight off the index. As migration 0008 says, the build
holds the intake's writes while it runs."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("inference", "0008_hash_indexes_for_whole_value_lookups"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="inferencerecord", name="inference_period_idx"),
        migrations.AddIndex(
            model_name="inferencerecord",
            index=models.Index(fields=["started_at"], name="inference_started_idx"),
        ),
    ]
