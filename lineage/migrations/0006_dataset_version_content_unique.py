"""A dataset has at most one version of any content: the same SHA-256 registered twice means two reviews of one
body of data. The service has refused such a version since this constraint came; a database that already holds
a pair stops here with the database's error naming it, since versions are evidence and are never deleted."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("lineage", "0005_openlineage_runs"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="datasetversion",
            constraint=models.UniqueConstraint(
                fields=("dataset", "content_digest"),
                name="dataset_version_content_unique",
                violation_error_message="This dataset already has a version with this content.",
            ),
        ),
    ]
