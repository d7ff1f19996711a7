"""Typed readers for configuration that comes from the environment.

Settings are read once at start-up; a value that cannot be parsed stops the process with a message that
names the variable, rather than running with a silently wrong default.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

#: Names the file of ``NAME=value`` lines read for what the environment does not set (unset: the checkout's ``.env``;
#: empty: none).
ENV_FILE_VARIABLE = "PORTAL_ENV_FILE"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def read_env_file(default: Path) -> Path | None:
    """Fill in, from a local checkout's ``.env`` (``make run`` writes one: ``DEBUG=true`` and a generated
    ``SECRET_KEY``), what the environment does not set; a variable set in the environment always wins. Returns the
    file read, or None when there is none (production: configured through its environment alone)."""
    named = os.environ.get(ENV_FILE_VARIABLE)
    path = default if named is None else Path(named) if named.strip() else None
    if path is None or not path.is_file():
        return None
    load_dotenv(path, override=False)
    return path


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use true or false.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None


def env_list(name: str) -> list[str]:
    """A comma-separated list; blanks are dropped."""
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def env_host_port(name: str) -> tuple[str, int] | None:
    """``host:port`` (``[::1]:514`` for an IPv6 address) as a socket address; None when unset."""
    raw = env_str(name)
    if not raw:
        return None
    host, separator, port = raw.rpartition(":")
    host = host.removeprefix("[").removesuffix("]") if host.startswith("[") else host
    bare_ipv6 = ":" in host and not raw.startswith("[")
    if not separator or not host or bare_ipv6 or not port.isdigit():
        raise ImproperlyConfigured(f"{name}={raw!r} is not host:port; write e.g. siem.example.com:514 or [::1]:514.")
    if not 0 < int(port) < 65536:
        raise ImproperlyConfigured(f"{name}={raw!r}: the port must be between 1 and 65535.")
    return host, int(port)


def env_https_base_url(name: str) -> str:
    """An https base URL (scheme and host, optionally a path; no query or fragment) without its trailing slash, or
    empty when unset: links the portal builds from it must not lead anywhere else or in clear."""
    raw = env_str(name)
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment or parts.username:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not an https base URL such as https://example.atlassian.net (no query, no credentials)."
        )
    return raw.rstrip("/")
