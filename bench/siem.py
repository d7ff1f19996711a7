"""The ledger forwarded to a SIEM's syslog receiver.

``syslog_forward_entries_per_s``: ``SIEM_ENTRIES`` ledger entries forwarded in batches of ``SIEM_SYSLOG_BATCH``
(1,000) to a receiver in another process on 127.0.0.1 that reads until the forwarder closes, as the forwarder's
acknowledgement needs; best of three. ``syslog_forward_ratio_to_raw_send``: that over sending the same framed
messages down one socket without the database, the cursor or the acknowledgements, in the same run.
"""

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

from django.test import override_settings

from audit.models import LedgerEntry
from bench.ledger import grow_ledger
from webhooks import syslog
from webhooks.models import SyslogCursor

SIEM_ENTRIES = 20_000
RUNS = 3
#: Accepts connection after connection and reads each until the peer closes, then closes its side.
RECEIVER = """
import socket, sys
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
while True:
    connection, _ = listener.accept()
    while connection.recv(1 << 20):
        pass
    connection.close()
"""


def _receiver() -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)  # noqa: S603
    return process, int(process.stdout.readline())


def _forward_everything() -> float:
    SyslogCursor.objects.all().delete()
    started = time.perf_counter()
    sent = syslog.forward_all(max_batches=SIEM_ENTRIES)
    elapsed = time.perf_counter() - started
    if sent != LedgerEntry.objects.count():
        raise RuntimeError(f"forwarded {sent} of {LedgerEntry.objects.count()} entries")
    return elapsed


def _raw_send(port: int) -> float:
    rows = LedgerEntry.objects.order_by("sequence").values_list(*syslog.COLUMNS)
    messages = syslog.messages_of(rows, hostname="bench")
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(b"".join(messages))
        connection.shutdown(socket.SHUT_WR)
        while connection.recv(4096):
            pass
    return time.perf_counter() - started


def run() -> Iterator[tuple[str, float, str]]:
    grow_ledger(max(SIEM_ENTRIES, LedgerEntry.objects.count()))
    total = LedgerEntry.objects.count()
    process, port = _receiver()
    try:
        with override_settings(SIEM_SYSLOG_ADDRESS=("127.0.0.1", port), SIEM_SYSLOG_TLS=False):
            forward = min(_forward_everything() for _ in range(RUNS))
            raw = min(_raw_send(port) for _ in range(RUNS))
    finally:
        process.kill()
        process.wait()
    yield "syslog_forward_entries_per_s", total / forward, "entries/s"
    yield "syslog_forward_ratio_to_raw_send", raw / forward, "ratio"
