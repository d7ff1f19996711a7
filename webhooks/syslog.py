"""The audit ledger as a security event stream: every entry, in order, to the SIEM's syslog receiver.

Messages are RFC 5424, framed by octet counting (RFC 6587, section 3.4.1) over TCP, with TLS (RFC 5425) when
``SIEM_SYSLOG_TLS`` is on. Each carries the entry's sequence, action, actor, object and hash as structured data and
the entry itself, as the ledger hashed it, as the message, so the SIEM can alert on the fields and an investigator
can check the entry against the ledger's chain.

Nothing is lost and nothing is sent twice across restarts and outages: the last sequence the receiver has
acknowledged is kept in the database (``SyslogCursor``), and a batch counts as acknowledged only once the receiver
has read all of it: after sending, the forwarder closes its side and waits for the receiver to close its own,
which a syslog server does once it has consumed everything before the close. A batch that fails is sent again from
the cursor. The cursor row is locked while a batch is out, so two workers never send the same entries. A receiver
killed halfway through reading a batch may have logged that batch's first entries before the forwarder learns it
failed; those come again, each with its sequence, which is what a SIEM de-duplicates on.

Plain syslog is the SIEM's side: this is what security tooling already ingests (the webhook events remain for
workflow tools, and ``GET /api/v1/ledger`` for SIEMs that pull).
"""

import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction

from audit.choices import LedgerAction
from audit.models import LedgerEntry
from webhooks.models import SyslogCursor

#: RFC 5424 facility 13, "log audit".
FACILITY = 13
INFORMATIONAL, NOTICE, WARNING = 6, 5, 4
#: Security-relevant actions stand out by severity; everything else is informational.
SEVERITIES = {
    LedgerAction.LOGIN_FAILED: WARNING,
    LedgerAction.LOCKOUT: WARNING,
    LedgerAction.DENIED: WARNING,
    LedgerAction.OVERRIDE: WARNING,
    LedgerAction.EXPORT: NOTICE,
    LedgerAction.DOWNLOAD: NOTICE,
    LedgerAction.UNLOCK: NOTICE,
    LedgerAction.MFA_ENROLMENT: NOTICE,
    LedgerAction.SIGN: NOTICE,
}
APP_NAME = "llm-governance-portal"
MSG_ID = "ledger"
#: RFC 5424 ``NILVALUE``, and the byte-order mark that says the message is UTF-8.
NIL, BOM = "-", "\ufeff"


class ForwardFailed(Exception):
    """The receiver could not be reached, or did not take the whole batch; the cursor did not move."""


@dataclass(frozen=True)
class Forwarded:
    sent: int
    last_sequence: int


def _sd_value(value: object) -> str:
    """An SD-PARAM value: ``"``, ``\\`` and ``]`` escaped (RFC 5424, section 6.3.3)."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def message(
    *,
    sequence: int,
    action: str,
    actor_name: str,
    object_type: str,
    object_id: str,
    recorded_at: datetime,
    canonical: bytes,
    entry_hash: bytes,
    hostname: str,
) -> bytes:
    """One entry as an octet-counted RFC 5424 message."""
    priority = FACILITY * 8 + SEVERITIES.get(action, INFORMATIONAL)
    timestamp = recorded_at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    params = {
        "sequence": sequence,
        "action": action,
        "actor": actor_name,
        "object_type": object_type,
        "object_id": object_id,
        "entry_hash": entry_hash.hex(),
    }
    structured = "[{} {}]".format(
        settings.SIEM_SYSLOG_SD_ID, " ".join(f'{name}="{_sd_value(value)}"' for name, value in params.items())
    )
    header = f"<{priority}>1 {timestamp} {hostname or NIL} {APP_NAME} {NIL} {MSG_ID} {structured} {BOM}"
    body = header.encode() + canonical
    return b"%d %s" % (len(body), body)


#: The ledger columns a message is made of, in ``messages_of``'s order.
COLUMNS = ("sequence", "action", "actor_name", "object_type", "object_id", "recorded_at", "canonical", "entry_hash")


def messages_of(rows: Iterable[tuple], *, hostname: str) -> list[bytes]:
    """The framed messages of ledger rows read as ``values_list(*COLUMNS)``."""
    return [
        message(
            sequence=sequence,
            action=action,
            actor_name=actor_name,
            object_type=object_type,
            object_id=object_id,
            recorded_at=recorded_at,
            canonical=bytes(canonical),
            entry_hash=bytes(entry_hash),
            hostname=hostname,
        )
        for sequence, action, actor_name, object_type, object_id, recorded_at, canonical, entry_hash in rows
    ]


def _connect() -> socket.socket:
    host, port = settings.SIEM_SYSLOG_ADDRESS
    connection = socket.create_connection((host, port), timeout=settings.SIEM_SYSLOG_TIMEOUT_S)
    if not settings.SIEM_SYSLOG_TLS:
        return connection
    context = ssl.create_default_context(cafile=settings.SIEM_SYSLOG_CA_FILE or None)
    if settings.SIEM_SYSLOG_CLIENT_CERT_FILE:
        context.load_cert_chain(settings.SIEM_SYSLOG_CLIENT_CERT_FILE, settings.SIEM_SYSLOG_CLIENT_KEY_FILE or None)
    return context.wrap_socket(connection, server_hostname=host)


def _deliver(messages: list[bytes]) -> None:
    """Send, then wait until the receiver has read everything and closed: only then is the batch acknowledged."""
    try:
        with _connect() as connection:
            connection.sendall(b"".join(messages))
            if isinstance(connection, ssl.SSLSocket):
                try:
                    connection = connection.unwrap()  # TLS close_notify both ways, then the TCP close below
                except ssl.SSLEOFError:
                    # Our close_notify was answered by a plain close (rsyslog's GnuTLS driver sends none of its own):
                    # the receiver read up to it, since closing with data unread would have reset the connection.
                    return
            connection.shutdown(socket.SHUT_WR)
            while connection.recv(4096):
                pass  # a syslog receiver sends nothing; anything it does send is read and ignored
    except (OSError, ssl.SSLError) as error:
        host, port = settings.SIEM_SYSLOG_ADDRESS
        raise ForwardFailed(f"The syslog receiver {host}:{port} did not take the batch: {error}") from error


def destination() -> str:
    host, port = settings.SIEM_SYSLOG_ADDRESS
    return f"{'tls' if settings.SIEM_SYSLOG_TLS else 'tcp'}://{host}:{port}"


def forward_batch(*, limit: int | None = None) -> Forwarded:
    """Send the entries after the cursor, at most ``limit`` (``SIEM_SYSLOG_BATCH``), and move the cursor past them
    once the receiver has taken them all. Raises ``ForwardFailed``, the cursor unmoved, if it did not."""
    limit = limit or settings.SIEM_SYSLOG_BATCH
    hostname = settings.SIEM_SYSLOG_HOSTNAME or socket.gethostname()
    with transaction.atomic():
        cursor, _ = SyslogCursor.objects.get_or_create(destination=destination())
        cursor = SyslogCursor.objects.select_for_update().get(pk=cursor.pk)
        rows = list(
            LedgerEntry.objects.filter(sequence__gt=cursor.last_sequence)
            .order_by("sequence")
            .values_list(*COLUMNS)[:limit]
        )
        if not rows:
            return Forwarded(sent=0, last_sequence=cursor.last_sequence)
        messages = messages_of(rows, hostname=hostname)
        _deliver(messages)
        cursor.last_sequence = rows[-1][0]
        cursor.save(update_fields=["last_sequence", "acknowledged_at"])
    return Forwarded(sent=len(rows), last_sequence=cursor.last_sequence)


def forward_all(*, max_batches: int = 100) -> int:
    """Forward batch after batch until the receiver has everything (or ``max_batches``); returns entries sent."""
    sent = 0
    for _ in range(max_batches):
        batch = forward_batch()
        sent += batch.sent
        if batch.sent == 0:
            break
    return sent
