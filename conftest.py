"""Test-wide configuration: "no skips in CI", and flushing around append-only tables."""

import os

import pytest
from django.db import connections
from django.test import TransactionTestCase


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    """In CI every test must run: a skip (a missing service, a missing browser) fails the run instead."""
    outcome = yield
    report = outcome.get_result()
    if _in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"Skipped in CI, where nothing may be skipped: {reason}"


_original_fixture_teardown = TransactionTestCase._fixture_teardown


def _fixture_teardown_lifting_append_only_triggers(self: TransactionTestCase) -> None:
    """Transactional tests end by emptying every table, which the append-only triggers refuse, as they
    should. Only here, in the test harness, are the triggers lifted for that flush and put back after."""
    from audit import append_only

    lifted = {}
    for alias in self._databases_names(include_mirrors=False):
        connection = connections[alias]
        tables = append_only.protected_tables(connection)
        with connection.cursor() as cursor:
            for table in tables:
                for statement in append_only.drop_statements(connection.vendor, table):
                    cursor.execute(statement)
        lifted[alias] = tables
    try:
        _original_fixture_teardown(self)
    finally:
        for alias, tables in lifted.items():
            connection = connections[alias]
            with connection.cursor() as cursor:
                for table in tables:
                    for statement in append_only.create_statements(connection.vendor, table):
                        cursor.execute(statement)


TransactionTestCase._fixture_teardown = _fixture_teardown_lifting_append_only_triggers
