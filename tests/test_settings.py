"""Configuration comes from the environment, and production mode refuses to start half-configured."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STRONG_SECRET = "x7Gq2#Lr9!vPz4Kw8@Ns1$Tb6^Yd3&Hf5*Jm0(Qc)Ue-We+Ra=Zt"  # 52 chars, many unique


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean_env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DEBUG",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "DJANGO_SETTINGS_MODULE",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
            "LEDGER_SIGNING_KEY",
        }
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean_env, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({}, "SECRET_KEY and ALLOWED_HOSTS are not set"),
        ({"SECRET_KEY": STRONG_SECRET}, "ALLOWED_HOSTS is not set"),
        ({"ALLOWED_HOSTS": "portal.example.com"}, "SECRET_KEY is not set"),
    ],
)
def test_production_mode_refuses_to_start_without_secrets(env: dict[str, str], missing: str) -> None:
    result = run_manage("check", DEBUG="false", **env)

    assert result.returncode != 0
    assert missing in result.stderr
    assert "set DEBUG=true for a local pilot" in result.stderr


def test_production_mode_is_the_default_when_debug_is_unset() -> None:
    result = run_manage("check")

    assert result.returncode != 0
    assert "DEBUG is false (production mode)" in result.stderr


def test_unparseable_debug_value_is_named_in_the_error() -> None:
    result = run_manage("check", DEBUG="maybe")

    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


PRODUCTION = {"DEBUG": "false", "SECRET_KEY": STRONG_SECRET, "ALLOWED_HOSTS": "portal.example.com"}


def test_deploy_check_is_clean_when_production_is_configured() -> None:
    from governance.signing_keys import generate_private_key_pem

    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        LEDGER_SIGNING_KEY=generate_private_key_pem(),
        **PRODUCTION,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_local_pilot_runs_without_any_configuration() -> None:
    result = run_manage("check", DEBUG="true")

    assert result.returncode == 0, result.stderr


def test_without_a_database_url_the_pilot_uses_sqlite_under_var(tmp_path: Path) -> None:
    code = (
        "from django.conf import settings; "
        "print(settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['NAME'])"
    )
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**env, "DEBUG": "true", "VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "portal.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert result.stdout.split() == ["django.db.backends.sqlite3", str(tmp_path / "portal.sqlite3")]


def test_without_a_broker_tasks_run_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {key: value for key, value in os.environ.items() if key != "CELERY_BROKER_URL"}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from portal.celery import app, ping; "
            "print(app.conf.task_always_eager, ping.delay().get()['pong'] != '')",
        ],
        cwd=ROOT,
        env={**env, "DEBUG": "true", "DJANGO_SETTINGS_MODULE": "portal.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert result.stdout.split() == ["True", "True"]


@pytest.mark.parametrize("key", ["", "not-a-key", "QUJD"])
def test_deploy_check_fails_without_a_usable_ledger_signing_key(key: str) -> None:
    result = run_manage("check", "--deploy", LEDGER_SIGNING_KEY=key, **PRODUCTION)

    assert result.returncode != 0
    assert "governance.E001" in result.stderr
