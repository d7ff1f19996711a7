"""System checks for configuration the evidence depends on: the checkpoint signing key, history settings, and the
append-only triggers of every audit and history table.

The IDs keep the ``governance.`` prefix they were released with: deployments may name them in
``SILENCED_SYSTEM_CHECKS``, and the README and runbooks refer to them."""

from collections.abc import Iterable

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.exceptions import ImproperlyConfigured


@register(Tags.security, deploy=True)
def ledger_signing_key_check(app_configs: object = None, **kwargs: object) -> list[CheckMessage]:
    from audit import signing_keys

    try:
        text = signing_keys.configured_key_text()
        if not text:
            raise ImproperlyConfigured("LEDGER_SIGNING_KEY is not set.")
        signing_keys.parse_private_key(text)
    except (ImproperlyConfigured, ValueError) as error:
        return [
            Error(
                f"The ledger signing key is missing or unusable: {error}",
                hint="Set LEDGER_SIGNING_KEY to an Ed25519 private key (`manage.py create_ledger_key`).",
                id="governance.E001",
            )
        ]
    return []


@register(Tags.security)
def history_settings_check(app_configs: object = None, **kwargs: object) -> list[CheckMessage]:
    """History rows are evidence: they are never reverted from the admin and are permission-checked."""
    errors = []
    if not getattr(settings, "SIMPLE_HISTORY_REVERT_DISABLED", False):
        errors.append(Error("SIMPLE_HISTORY_REVERT_DISABLED must be True.", id="governance.E002"))
    if not getattr(settings, "SIMPLE_HISTORY_ENFORCE_HISTORY_MODEL_PERMISSIONS", False):
        errors.append(Error("SIMPLE_HISTORY_ENFORCE_HISTORY_MODEL_PERMISSIONS must be True.", id="governance.E003"))
    return errors


@register(Tags.database)
def append_only_triggers_check(
    app_configs: object = None, databases: Iterable[str] | None = None, **kwargs: object
) -> list[CheckMessage]:
    """Every audit and history table must carry the append-only triggers, on PostgreSQL and SQLite alike: a table
    without them lets anyone with the application's connection rewrite evidence.

    A database check (``manage.py check --database default``, and ``migrate`` before it migrates). A database
    with migrations still to apply is left to ``migrate``: a migration may be what restores the triggers."""
    from django.db import DatabaseError, connections
    from django.db.migrations.executor import MigrationExecutor

    from audit.append_only import unprotected_tables

    errors = []
    for alias in databases or ():
        connection = connections[alias]
        try:
            executor = MigrationExecutor(connection)
            if executor.migration_plan(executor.loader.graph.leaf_nodes()):
                continue
            unprotected = unprotected_tables(connection, executor.loader)  # the migrations are read once
        except DatabaseError:
            continue  # unreachable database: Django's own checks and the first query say so
        if unprotected:
            errors.append(
                Error(
                    f"Append-only tables without their append-only triggers in database '{alias}': "
                    f"{', '.join(unprotected)}. Their rows (evidence) can be rewritten or deleted.",
                    hint=(
                        "As the table owner, run `manage.py restore_append_only`, then `manage.py verify_ledger`: "
                        "the hash chain and checkpoints show whether anything was changed meanwhile."
                    ),
                    id="governance.E012",
                )
            )
    return errors
