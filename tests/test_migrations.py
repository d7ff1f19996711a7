"""Migrations a maintainer can read: each runs the same whatever the application's code becomes later.

A migration may import Django, its own app's migration operations (``audit.operations``) and the standard library;
application code it imports would change under it as the code changes. The exceptions are listed with why."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("audit", "accounts", "governance", "webhooks", "lineage", "registry", "evidence")
#: Application code a migration may import, and why it cannot do without.
ALLOWED = {
    "audit.operations": "the trust core's migration operations (append-only triggers), written for migrations",
    "accounts.models": "validate_rate, a field's validator, referenced where makemigrations writes the field",
    "lineage.models.synthetic": "validate_language(s), the BCP 47 validators makemigrations writes beside the fields",
    "audit.ledger": "role grants for people already in a role group are ledgered: the chain continues through them",
    "webhooks.signing": "subscriber URLs are encrypted with the portal's key, exactly as the running portal does",
    "webhooks.urls_policy": "the URL shown beside an encrypted one is the running portal's redaction of it",
}


def _migrations() -> list[Path]:
    return sorted(path for app in APPS for path in (ROOT / app / "migrations").glob("0*.py"))


def _imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _application_code(modules: set[str]) -> set[str]:
    return {
        name
        for name in modules
        if name.split(".")[0] in APPS and not any(name == a or name.startswith(f"{a}.") for a in ALLOWED)
    }


@pytest.mark.parametrize("path", _migrations(), ids=lambda path: f"{path.parent.parent.name}/{path.stem}")
def test_a_migration_imports_no_application_code(path: Path) -> None:
    application = _application_code(_imported_modules(path))
    assert not application, f"{path.name} imports application code: {sorted(application)}"


def test_the_check_sees_an_import_of_application_code(tmp_path: Path) -> None:
    migration = tmp_path / "0001_example.py"
    migration.write_text("from governance.catalogue import load_controls\nimport audit.operations\n")
    assert _application_code(_imported_modules(migration)) == {"governance.catalogue.load_controls"}
