"""Runs every benchmark module listed in ``BENCHMARKS`` inside one throw-away test database."""

import importlib
import os
import sys

import django

BENCHMARKS = ("bench.admin_pages", "bench.ledger", "bench.lineage", "bench.lineage_pages")


def format_value(value: float) -> str:
    """Rates with one decimal; small figures (ratios) with four significant digits."""
    return f"{value:.1f}" if abs(value) >= 100 else f"{value:.4g}"


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        for module_name in BENCHMARKS:
            for name, value, unit in importlib.import_module(module_name).run():
                print(f"{name} {format_value(value)} {unit}", flush=True)
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)
        teardown_test_environment()
    return 0


if __name__ == "__main__":
    sys.exit(main())
