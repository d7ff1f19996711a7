"""Runs the benchmark modules listed in ``BENCHMARKS`` inside one throw-away test database.

``python -m bench`` runs them all; ``python -m bench ledger lineage`` runs only the ones named (the module
names without ``bench.``). ``python -m bench scale`` (``make bench-scale``) runs the ten-million-entry ledger, which
takes minutes and PostgreSQL, and so is never part of a plain run.
"""

import importlib
import os
import shutil
import sys
import tempfile

import django

BENCHMARKS = (
    "bench.admin_pages",
    "bench.ledger",
    "bench.lineage",
    "bench.lineage_pages",
    "bench.registry",
    "bench.evidence",
    "bench.oscal",
    "bench.api",
    "bench.siem",
    "bench.comparison",
    "bench.provenance",
    "bench.inference",
)
#: Run only when named.
ON_REQUEST = ("bench.scale",)


def format_value(value: float) -> str:
    """Rates with one decimal; small figures (ratios) with four significant digits."""
    return f"{value:.1f}" if abs(value) >= 100 else f"{value:.4g}"


def selected(names: list[str]) -> tuple[str, ...]:
    """The modules ``names`` asks for (all of them when empty), in ``BENCHMARKS`` order."""
    if not names:
        return BENCHMARKS
    wanted = {name.removeprefix("bench.") for name in names}
    known = BENCHMARKS + ON_REQUEST
    unknown = wanted - {module.removeprefix("bench.") for module in known}
    if unknown:
        choices = ", ".join(module.removeprefix("bench.") for module in known)
        raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(unknown))} (choose from {choices})")
    return tuple(module for module in known if module.removeprefix("bench.") in wanted)


def main(argv: list[str] | None = None) -> int:
    modules = selected(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    # Checkpoints signed over the throw-away database go to a throw-away directory: beside the real ones they
    # would contradict the real ledger (and a second run would contradict the first).
    checkpoints = tempfile.mkdtemp(prefix="bench-checkpoints-")
    os.environ["LEDGER_CHECKPOINT_DIR"] = checkpoints
    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        for module_name in modules:
            for name, value, unit in importlib.import_module(module_name).run():
                print(f"{name} {format_value(value)} {unit}", flush=True)
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)
        teardown_test_environment()
        shutil.rmtree(checkpoints, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
