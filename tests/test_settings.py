"""Configuration comes from the environment, and production mode refuses to start half-configured."""

import json
import os
import shutil
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
            "CACHE_URL",
            "EVIDENCE_SIGNING_KEY_FILE",
            "EVIDENCE_SIGNING_CERT_FILE",
            "INFERENCE_HMAC_KEYS",
            "INFERENCE_HMAC_KEY_ID",
            "INFERENCE_PSEUDONYM_KEY",
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


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": STRONG_SECRET,
    "ALLOWED_HOSTS": "portal.example.com",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
    "INFERENCE_HMAC_KEYS": '{"2026-12": "a content key of at least thirty-two characters"}',
    "INFERENCE_HMAC_KEY_ID": "2026-12",
    "INFERENCE_PSEUDONYM_KEY": "a pseudonym key of at least thirty-two characters",
}


def evidence_signing_files(directory: Path) -> dict[str, str]:
    """An evidence signing key and certificate in ``directory``, as production configures its own."""
    from evidence.signing import self_signed

    key_pem, cert_pem = self_signed("Example Bank")
    (directory / "evidence-key.pem").write_bytes(key_pem)
    (directory / "evidence-cert.pem").write_bytes(cert_pem)
    return {
        "EVIDENCE_SIGNING_KEY_FILE": str(directory / "evidence-key.pem"),
        "EVIDENCE_SIGNING_CERT_FILE": str(directory / "evidence-cert.pem"),
    }


def test_deploy_check_is_clean_when_production_is_configured(tmp_path: Path) -> None:
    from audit.signing_keys import generate_private_key_pem

    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        LEDGER_SIGNING_KEY=generate_private_key_pem(),
        **evidence_signing_files(tmp_path),
        **PRODUCTION,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_deploy_check_warns_when_the_inference_keys_are_derived_from_the_secret_key(tmp_path: Path) -> None:
    from audit.signing_keys import generate_private_key_pem

    derived = {name: "" for name in ("INFERENCE_HMAC_KEYS", "INFERENCE_HMAC_KEY_ID", "INFERENCE_PSEUDONYM_KEY")}
    result = run_manage(
        "check",
        "--deploy",
        LEDGER_SIGNING_KEY=generate_private_key_pem(),
        **evidence_signing_files(tmp_path),
        **{**PRODUCTION, **derived},
    )

    assert "inference.W001" in result.stdout + result.stderr


def test_an_inference_key_id_that_names_no_key_stops_the_portal() -> None:
    result = run_manage(
        "check", DEBUG="true", INFERENCE_HMAC_KEYS='{"k1": "' + "x" * 32 + '"}', INFERENCE_HMAC_KEY_ID="k2"
    )

    assert result.returncode != 0
    assert "INFERENCE_HMAC_KEY_ID='k2' is not a key of INFERENCE_HMAC_KEYS" in result.stderr


def test_deploy_check_fails_without_a_shared_cache() -> None:
    """Without CACHE_URL every gunicorn worker would count a token's requests on its own."""
    from audit.signing_keys import generate_private_key_pem

    without_cache = {key: value for key, value in PRODUCTION.items() if key != "CACHE_URL"}
    result = run_manage("check", "--deploy", LEDGER_SIGNING_KEY=generate_private_key_pem(), **without_cache)

    assert result.returncode != 0
    assert "governance.E011" in result.stderr


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

    assert result.stdout.split() == ["audit.backends.sqlite3", str(tmp_path / "portal.sqlite3")]


def test_a_sqlite_database_url_also_gets_the_backend_that_keeps_triggers(tmp_path: Path) -> None:
    code = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={
            **os.environ,
            "DEBUG": "true",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'pilot.sqlite3'}",
            "DJANGO_SETTINGS_MODULE": "portal.settings",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert result.stdout.split() == ["audit.backends.sqlite3"]


def test_celery_beat_checkpoints_the_ledger_as_often_as_the_interval_setting_says() -> None:
    code = (
        "from portal.celery import app; from django.conf import settings; "
        "print(app.conf.beat_schedule['ledger-checkpoint']['schedule'], settings.LEDGER_CHECKPOINT_MAX_AGE_S, "
        "settings.LEDGER_SYSLOG_ADDRESS)"
    )

    default = run_manage("shell", "--no-imports", "-c", code, DEBUG="true")
    configured = run_manage(
        "shell",
        "--no-imports",
        "-c",
        code,
        DEBUG="true",
        LEDGER_CHECKPOINT_INTERVAL_S="30",
        LEDGER_SYSLOG_ADDRESS="[::1]:5514",
    )

    assert default.stdout.split() == ["60", "120", "None"], default.stderr
    assert configured.stdout.split() == ["30", "60", "('::1',", "5514)"], configured.stderr


@pytest.mark.parametrize(
    ("env", "refusal"),
    [
        ({"LEDGER_CHECKPOINT_INTERVAL_S": "0"}, "LEDGER_CHECKPOINT_INTERVAL_S=0 must be positive"),
        ({"LEDGER_CHECKPOINT_MAX_AGE_S": "30"}, "at most LEDGER_CHECKPOINT_MAX_AGE_S=30"),
        ({"LEDGER_SYSLOG_ADDRESS": "siem.example.com"}, "LEDGER_SYSLOG_ADDRESS='siem.example.com' is not host:port"),
        ({"LEDGER_SYSLOG_ADDRESS": "siem.example.com:0"}, "the port must be between 1 and 65535"),
    ],
)
def test_a_checkpoint_setting_that_cannot_hold_stops_the_portal(env: dict[str, str], refusal: str) -> None:
    result = run_manage("check", DEBUG="true", **env)

    assert result.returncode != 0
    assert refusal in result.stderr


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


def test_deploy_check_fails_without_an_evidence_signing_certificate() -> None:
    from audit.signing_keys import generate_private_key_pem

    result = run_manage("check", "--deploy", LEDGER_SIGNING_KEY=generate_private_key_pem(), **PRODUCTION)

    assert result.returncode != 0
    assert "evidence.E001" in result.stderr


@pytest.mark.parametrize("key", ["", "not-a-key", "QUJD"])
def test_deploy_check_fails_without_a_usable_ledger_signing_key(key: str) -> None:
    result = run_manage("check", "--deploy", LEDGER_SIGNING_KEY=key, **PRODUCTION)

    assert result.returncode != 0
    assert "governance.E001" in result.stderr


def _in_production(tmp_path: Path, code: str) -> str:
    """Run ``code`` in a process configured for production (SQLite under ``tmp_path``); return its output."""
    from audit.signing_keys import generate_private_key_pem

    drop = {"DATABASE_URL", "DEBUG", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={
            **{key: value for key, value in os.environ.items() if key not in drop},
            **PRODUCTION,
            "ALLOWED_HOSTS": "testserver",
            "LEDGER_SIGNING_KEY": generate_private_key_pem(),
            "VAR_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "portal.settings",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


TRANSPORT_SETTINGS = (
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_SSL_REDIRECT",
    "SESSION_IDLE_TIMEOUT_S",
    "SESSION_ABSOLUTE_TIMEOUT_S",
    "SESSION_COOKIE_AGE",
)


def test_production_sends_hsts_and_the_content_security_policy_and_marks_cookies_secure(tmp_path: Path) -> None:
    output = _in_production(
        tmp_path,
        "import json; from django.conf import settings; from django.test import Client; "
        "response = Client().get('/healthz', secure=True); "
        "print(json.dumps({'status': response.status_code, 'headers': dict(response.items()), "
        f"'settings': {{name: getattr(settings, name) for name in {TRANSPORT_SETTINGS!r}}}}}))",
    )
    answer = json.loads(output.strip().splitlines()[-1])

    headers = answer["headers"]
    assert answer["status"] == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    policy = headers["Content-Security-Policy"]
    for directive in ("object-src 'none'", "frame-ancestors 'none'", "default-src 'self'", "base-uri 'none'"):
        assert directive in policy
    assert "unsafe-inline" not in policy
    assert answer["settings"] == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_SSL_REDIRECT": True,
        "SESSION_IDLE_TIMEOUT_S": 1800,
        "SESSION_ABSOLUTE_TIMEOUT_S": 43200,
        "SESSION_COOKIE_AGE": 43200,
    }


def test_production_redirects_plain_http_to_https_except_the_health_check(tmp_path: Path) -> None:
    output = _in_production(
        tmp_path,
        "from django.test import Client; "
        "print(Client().get('/admin/login/').status_code, Client().get('/healthz').status_code)",
    )

    assert output.split()[-2:] == ["301", "200"]


# --- A local checkout's .env ------------------------------------------------------------------------------

#: What a fresh clone holds: the project's files, none of a working checkout's own state.
NOT_IN_A_CLONE = (".venv", "var", ".git", ".env", "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache")
#: What the people following the README have not set: they run the documented commands as written.
NOT_SET_BY_THE_READER = (
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "VAR_DIR",
    "PORTAL_ENV_FILE",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "LEDGER_SIGNING_KEY",
    "LEDGER_CHECKPOINT_DIR",
    "CACHE_URL",
    "CELERY_BROKER_URL",
    "EVIDENCE_SIGNING_KEY_FILE",
    "EVIDENCE_SIGNING_CERT_FILE",
    "INFERENCE_HMAC_KEYS",
    "INFERENCE_HMAC_KEY_ID",
    "INFERENCE_PSEUDONYM_KEY",
)


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT, checkout, ignore=shutil.ignore_patterns(*NOT_IN_A_CLONE))
    return checkout


def as_the_reader(checkout: Path, *command: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``command`` run in ``checkout`` with the reader's environment: none of the portal's variables set."""
    reader = {key: value for key, value in os.environ.items() if key not in NOT_SET_BY_THE_READER}
    return subprocess.run(
        list(command), cwd=checkout, env={**reader, **env}, capture_output=True, text=True, timeout=600, check=False
    )


def test_the_readme_commands_work_as_written_in_a_fresh_checkout_once_make_has_written_its_env(clone: Path) -> None:
    python = sys.executable
    before = as_the_reader(clone, python, "manage.py", "demo_code", "legal")

    written = as_the_reader(clone, "make", ".env")
    key = (clone / ".env").read_text()
    again = as_the_reader(clone, "make", ".env")
    steps = [
        as_the_reader(clone, python, "manage.py", *args)
        for args in (("migrate", "--noinput"), ("seed_demo",), ("demo_code", "legal"))
    ]

    assert "SECRET_KEY and ALLOWED_HOSTS are not set" in before.stderr  # what a reader met before
    assert written.returncode == again.returncode == 0, written.stderr + again.stderr
    assert "DEBUG=true" in key.splitlines()
    assert (clone / ".env").read_text() == key  # written once: a second run keeps the checkout's key
    assert all(step.returncode == 0 for step in steps), [step.stderr[-2000:] for step in steps]
    code = steps[-1].stdout.split()[-1]
    assert code.isdigit()
    assert len(code) == 6


def test_the_env_file_never_outweighs_the_environment_so_production_still_refuses_without_its_secrets(
    clone: Path,
) -> None:
    as_the_reader(clone, "make", ".env")

    production = as_the_reader(clone, sys.executable, "manage.py", "check", DEBUG="false")
    elsewhere = as_the_reader(clone, sys.executable, "manage.py", "check", PORTAL_ENV_FILE="")

    assert production.returncode != 0
    assert "SECRET_KEY and ALLOWED_HOSTS are not set" not in production.stderr  # the .env's key counts ...
    assert "ALLOWED_HOSTS is not set" in production.stderr  # ... but DEBUG=false in the environment wins
    assert elsewhere.returncode != 0  # a deployment that reads no .env is configured by its environment alone
    assert "SECRET_KEY and ALLOWED_HOSTS are not set" in elsewhere.stderr


def test_the_env_file_is_never_committed() -> None:
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
