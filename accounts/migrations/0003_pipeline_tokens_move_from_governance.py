"""Pipeline tokens and idempotent requests move from the governance app to identity and access.

State only: the tables keep the names they were created with (``governance_pipelinetoken``, its history and
its idempotent requests), so nothing in the database changes. The use cases a token reaches become a relation
the governance app declares on its side (its migration 0015)."""

import django.db.models.deletion
import django.utils.timezone
import simple_history.models
from django.conf import settings
from django.db import migrations, models

import accounts.models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_content_types"),
        # The tables were created by the governance app's migrations.
        ("governance", "0014_sessions_move_to_accounts"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    state_operations = [
        migrations.CreateModel(
            name="HistoricalPipelineToken",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                (
                    "name",
                    models.CharField(
                        help_text="What the token is for, e.g. the pipeline.", max_length=100, verbose_name="name"
                    ),
                ),
                ("scopes", models.JSONField(default=list, verbose_name="scopes")),
                (
                    "prefix",
                    models.CharField(
                        db_index=True, help_text="Shown to recognise the token.", max_length=16, verbose_name="prefix"
                    ),
                ),
                (
                    "token_hash",
                    models.CharField(
                        db_index=True, editable=False, max_length=64, verbose_name="token digest (SHA-256)"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="created at (UTC)"),
                ),
                ("created_by", models.CharField(max_length=200, verbose_name="created by")),
                ("expires_at", models.DateTimeField(verbose_name="expires at (UTC)")),
                ("revoked_at", models.DateTimeField(blank=True, null=True, verbose_name="revoked at (UTC)")),
                ("revoked_by", models.CharField(blank=True, max_length=200, verbose_name="revoked by")),
                ("revocation_reason", models.CharField(blank=True, max_length=500, verbose_name="revocation reason")),
                (
                    "rate_limit",
                    models.CharField(
                        blank=True,
                        help_text="Requests this token may make, e.g. 600/min; empty: the portal's default (API_TOKEN_RATE).",
                        max_length=20,
                        validators=[accounts.models.validate_rate],
                        verbose_name="rate limit",
                    ),
                ),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "service_account",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="service account",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical pipeline token",
                "verbose_name_plural": "historical pipeline tokens",
                "db_table": "governance_historicalpipelinetoken",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="PipelineToken",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "name",
                    models.CharField(
                        help_text="What the token is for, e.g. the pipeline.", max_length=100, verbose_name="name"
                    ),
                ),
                ("scopes", models.JSONField(default=list, verbose_name="scopes")),
                (
                    "prefix",
                    models.CharField(
                        help_text="Shown to recognise the token.", max_length=16, unique=True, verbose_name="prefix"
                    ),
                ),
                (
                    "token_hash",
                    models.CharField(editable=False, max_length=64, unique=True, verbose_name="token digest (SHA-256)"),
                ),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="created at (UTC)"),
                ),
                ("created_by", models.CharField(max_length=200, verbose_name="created by")),
                ("expires_at", models.DateTimeField(verbose_name="expires at (UTC)")),
                ("revoked_at", models.DateTimeField(blank=True, null=True, verbose_name="revoked at (UTC)")),
                ("revoked_by", models.CharField(blank=True, max_length=200, verbose_name="revoked by")),
                ("revocation_reason", models.CharField(blank=True, max_length=500, verbose_name="revocation reason")),
                (
                    "rate_limit",
                    models.CharField(
                        blank=True,
                        help_text="Requests this token may make, e.g. 600/min; empty: the portal's default (API_TOKEN_RATE).",
                        max_length=20,
                        validators=[accounts.models.validate_rate],
                        verbose_name="rate limit",
                    ),
                ),
                (
                    "service_account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="pipeline_tokens",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="service account",
                    ),
                ),
            ],
            options={
                "verbose_name": "pipeline token",
                "db_table": "governance_pipelinetoken",
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="IdempotentRequest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=200, verbose_name="idempotency key")),
                ("request_hash", models.CharField(max_length=64, verbose_name="request digest (SHA-256)")),
                ("status_code", models.PositiveSmallIntegerField(verbose_name="response status")),
                ("response_body", models.TextField(verbose_name="response body")),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="created at (UTC)"),
                ),
                (
                    "token",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="accounts.pipelinetoken"
                    ),
                ),
            ],
            options={
                "verbose_name": "idempotent request",
                "db_table": "governance_idempotentrequest",
            },
        ),
        migrations.AddIndex(
            model_name="pipelinetoken",
            index=models.Index(fields=["service_account", "-created_at"], name="pipelinetoken_account_idx"),
        ),
        migrations.AddConstraint(
            model_name="idempotentrequest",
            constraint=models.UniqueConstraint(fields=("token", "key"), name="idempotent_request_unique"),
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
