"""Where the portal will post: checked when a subscription is saved and again before every attempt.

A subscriber URL is typed by a person and the portal's workers sit inside the network, so an unchecked URL
would let anyone allowed to manage subscriptions make the workers call internal services (SSRF). Production
therefore posts only over HTTPS, to host names whose every address is public, follows no redirect and reads
no response body. The address check runs before each attempt; a name that resolves differently between the
check and the connection (DNS rebinding) is out of its reach, so production should also route workers'
outbound traffic through an egress proxy or firewall that blocks private ranges.
"""

import hashlib
import ipaddress
import socket
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from webhooks import conf

MAX_URL_LENGTH = 2000


def clean_url(url: str) -> str:
    """The URL as stored, or a ``ValidationError`` saying what to fix."""
    url = (url or "").strip()
    if not url:
        raise ValidationError({"url": "Enter the receiver's URL."})
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError({"url": f"The URL is longer than {MAX_URL_LENGTH} characters."})
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ValidationError({"url": "Enter a valid http(s) URL, e.g. https://hooks.example.com/portal."}) from None
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise ValidationError({"url": "Put no user name or password in the URL; receivers verify the signature."})
    if parts.fragment:
        raise ValidationError({"url": "Remove the #fragment; it is never sent."})
    if parts.scheme != "https" and not conf.allow_private_networks():
        raise ValidationError({"url": "Use https: deliveries carry governance data."})
    if not conf.allow_private_networks():
        host = parts.hostname or ""
        if host == "localhost" or host.endswith(".localhost") or _is_private_literal(host):
            raise ValidationError({"url": "The URL points into a private network; use a public receiver."})
    return url


def _is_private_literal(host: str) -> bool:
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False


class HostNotResolved(Exception):
    """The receiver's host name did not resolve now: the attempt is not made (connecting would resolve it again,
    unchecked) and is retried later."""


def refused_address(url: str) -> str | None:
    """Why the portal will not connect to ``url`` now (an address that is not public), or ``None``; raises
    ``HostNotResolved`` when the name does not resolve, so that an unchecked connection is never made."""
    if conf.allow_private_networks():
        return None
    parts = urlsplit(url)
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as error:
        raise HostNotResolved(f"{parts.hostname} did not resolve ({type(error).__name__})") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return f"{parts.hostname} resolves to {address}, which is not a public address"
    return None


def origin(url: str) -> str:
    """``scheme://host[:port]``: where a URL points, without the path and query that may carry its credential
    (chat webhooks put their token in the path)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def url_fingerprint(url: str) -> str:
    """The first 16 hex digits of the full URL's SHA-256: tells URLs apart (and changes apart) without showing
    them."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def described_url(url: str) -> str:
    """What the ledger, the admin lists and error messages show of a subscriber URL."""
    return f"{origin(url)} (sha256 {url_fingerprint(url)})" if url else ""


def without_url(text: str, url: str) -> str:
    """``text`` with ``url``, and its path and query on their own (as HTTP libraries quote them), replaced by
    what ``described_url`` shows."""
    parts = urlsplit(url)
    shown = described_url(url)
    path_and_query = parts.path + (f"?{parts.query}" if parts.query else "")
    for part in (url, path_and_query, parts.path, parts.query):
        if part and part != "/":
            text = text.replace(part, "<URL>")
    return text.replace("<URL>", shown)
