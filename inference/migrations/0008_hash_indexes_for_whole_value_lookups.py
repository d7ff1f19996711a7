"""The response and answer indexes of inference records become hash indexes of the set values on PostgreSQL
(``inference.indexes``): both are found only by their whole value, and a hash index takes about half the bytes of a
B-tree of these near-random keys, and less work on each insert. SQLite keeps B-trees, now also of the set values
only. On PostgreSQL the partitioned table's indexes are dropped and made on every partition at once; the build holds
the intake's writes until it ends, and takes longer the more records there are, so a portal holding hundreds of
millions migrates in a quiet hour."""

from django.db import migrations, models

import inference.indexes


class Migration(migrations.Migration):
    dependencies = [
        ("inference", "0007_lean_record_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="inferencerecord", name="inference_response_idx"),
        migrations.RemoveIndex(model_name="inferencerecord", name="inference_answer_idx"),
        migrations.AddIndex(
            model_name="inferencerecord",
            index=inference.indexes.HashIndex(
                condition=models.Q(("response_id", ""), _negated=True),
                fields=["response_id"],
                name="inference_response_hash",
            ),
        ),
        migrations.AddIndex(
            model_name="inferencerecord",
            index=inference.indexes.HashIndex(
                condition=models.Q(("answer_hmac", b""), _negated=True),
                fields=["answer_hmac"],
                name="inference_answer_hash",
            ),
        ),
    ]
