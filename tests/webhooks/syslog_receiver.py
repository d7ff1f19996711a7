"""A real syslog receiver for the forwarder's tests: Debian's rsyslogd on 127.0.0.1, TCP (or TLS, RFC 5425, with
its GnuTLS driver from Debian's rsyslog-gnutls), writing what it receives to a file, which can be stopped in the
middle of a stream and started again on the same port and file."""

import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.services import rsyslog_path

#: What the receiver writes per message: the severity, then the structured data as received.
TEMPLATE = "%syslogseverity% %structured-data%\\n"
SEQUENCE = re.compile(r'sequence="(\d+)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class ServerCertificate:
    """What a TLS receiver presents: its certificate and key files, and the CA file that verifies them."""

    certificate: Path
    key: Path
    ca: Path


class Rsyslog:
    def __init__(self, directory: Path, *, tls: ServerCertificate | None = None):
        self.directory = directory
        self.port = free_port()
        self.received = directory / "received.log"
        self.config = directory / "rsyslog.conf"
        self.process: subprocess.Popen | None = None
        (directory / "work").mkdir(exist_ok=True)
        if tls is None:
            listener = 'module(load="imtcp")\n'
        else:
            # The server authenticates itself; clients are not asked for a certificate (anon), as the forwarder
            # presents none.
            listener = (
                f'global(DefaultNetstreamDriver="gtls" DefaultNetstreamDriverCAFile="{tls.ca}" '
                f'DefaultNetstreamDriverCertFile="{tls.certificate}" DefaultNetstreamDriverKeyFile="{tls.key}")\n'
                'module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")\n'
            )
        self.config.write_text(
            f'global(workDirectory="{directory / "work"}" maxMessageSize="256k")\n'
            f"{listener}"
            f'input(type="imtcp" address="127.0.0.1" port="{self.port}")\n'
            f'template(name="received" type="string" string="{TEMPLATE}")\n'
            f'action(type="omfile" file="{self.received}" template="received")\n'
        )

    def start(self) -> None:
        self.process = subprocess.Popen(
            [rsyslog_path(), "-n", "-f", str(self.config), "-i", str(self.directory / "rsyslogd.pid")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"rsyslogd exited: {self.process.stderr.read().decode()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("rsyslogd did not listen within 10 s")

    def stop(self) -> None:
        """As an operator stops it: SIGTERM, and rsyslogd writes out what it has taken before it exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=15)
        self.process = None

    def lines(self, *, expected: int, wait_s: float = 10) -> list[str]:
        """The received lines, once there are ``expected`` of them (or more), or after ``wait_s``."""
        deadline = time.monotonic() + wait_s
        while True:
            text = self.received.read_text() if self.received.exists() else ""
            lines = text.splitlines()
            if len(lines) >= expected or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)

    def sequences(self, *, expected: int) -> list[int]:
        return [int(match.group(1)) for line in self.lines(expected=expected) if (match := SEQUENCE.search(line))]
