"""A webhook receiver on loopback that checks every signature the way a subscriber would, and subscriptions."""

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from accounts.choices import Role
from webhooks.choices import WebhookEvent
from webhooks.services import webhook_subscription_create

#: How old a timestamp the receiver accepts: the replay window the README recommends.
TOLERANCE_S = 300


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers with ``statuses`` in turn (then 204), and keeps every request with its verdict."""

    url: str
    secret: str = ""
    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    #: Seconds to think before answering: holds an attempt open while something else happens.
    delay_s: float = 0.0

    def verify(self, headers: dict[str, str], body: bytes) -> bool:
        timestamp = headers.get("X-Portal-Timestamp", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TOLERANCE_S:
            return False
        # The event name and id are signed with the body: a receiver dispatches and de-duplicates on them.
        signed = f"{timestamp}.{headers.get('X-Portal-Event', '')}.{headers.get('X-Portal-Event-Id', '')}.".encode()
        expected = "sha256=" + hmac.new(self.secret.encode(), signed + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, headers.get("X-Portal-Signature", ""))

    def events(self) -> list[str]:
        return [request.json["event"] for request in self.received]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = dict(self.headers.items())
            ok = receiver.verify(headers, body)
            receiver.received.append(Received(headers, body, ok))
            time.sleep(receiver.delay_s)
            status = receiver.statuses.pop(0) if receiver.statuses else (204 if ok else 401)
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)
    receiver = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/portal-hooks")
    server.RequestHandlerClass = _handler(receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _loopback_allowed(settings) -> None:
    """Tests post to 127.0.0.1; production refuses private addresses (tests of that policy switch it off)."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True


@pytest.fixture
def security(user_in_role):
    return user_in_role(Role.SECURITY_REVIEWER, "sec-reviewer")


@pytest.fixture
def subscribe(receiver: Receiver):
    """Factory: a subscription of ``receiver`` (all events by default); the receiver learns its secret."""

    def make(actor, *, events=tuple(WebhookEvent.values), name="ops-hooks", **kwargs):
        subscription, secret = webhook_subscription_create(
            actor=actor, name=name, url=receiver.url, events=list(events), **kwargs
        )
        receiver.secret = secret
        return subscription

    return make
