"""Pipeline tokens now belong to identity and access; which use cases a token reaches is declared here, on the
use case, over the same table (``governance_pipelinetoken_use_cases``). State only: the database is unchanged."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_pipeline_tokens_move_from_governance"),
        ("governance", "0014_sessions_move_to_accounts"),
    ]

    state_operations = [
        migrations.RemoveField(
            model_name="idempotentrequest",
            name="token",
        ),
        migrations.RemoveField(
            model_name="pipelinetoken",
            name="service_account",
        ),
        migrations.RemoveField(
            model_name="pipelinetoken",
            name="use_cases",
        ),
        migrations.AddField(
            model_name="usecase",
            name="pipeline_tokens",
            field=models.ManyToManyField(
                blank=True,
                db_table="governance_pipelinetoken_use_cases",
                related_name="use_cases",
                to="accounts.pipelinetoken",
                verbose_name="pipeline tokens",
            ),
        ),
        migrations.DeleteModel(
            name="HistoricalPipelineToken",
        ),
        migrations.DeleteModel(
            name="IdempotentRequest",
        ),
        migrations.DeleteModel(
            name="PipelineToken",
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
