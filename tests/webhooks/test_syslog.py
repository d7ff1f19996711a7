"""The ledger as a SIEM's syslog stream: every entry once, in order, through a real receiver's outage."""

import re

import pytest
from django.urls import reverse

from audit import ledger
from audit.choices import LedgerAction
from audit.models import LedgerEntry
from tests import services
from tests.concurrency import run_at_once
from tests.signing_in import login_verified
from tests.webhooks.syslog_receiver import Rsyslog, ServerCertificate
from tests.webhooks.tls import server_and_ca
from webhooks import syslog
from webhooks.models import SyslogCursor
from webhooks.tasks import forward_ledger_to_syslog

pytestmark = pytest.mark.django_db


def _append(count: int, *, action: str = LedgerAction.CREATE) -> None:
    for number in range(count):
        ledger.append(action=action, object_type="tests.siem", object_id=str(number), actor_name="system:test")


@pytest.fixture(params=["tcp", "tls"])
def receiver(request, tmp_path, settings):
    """A real rsyslogd taking the stream over plain TCP, or over TLS with a certificate the forwarder verifies."""
    tls = request.param == "tls"
    if tls:
        _server_context, ca_file, _other = server_and_ca(tmp_path)
        certificate = ServerCertificate(certificate=tmp_path / "server.pem", key=tmp_path / "server.key", ca=ca_file)
        settings.SIEM_SYSLOG_CA_FILE = str(ca_file)
    rsyslog = Rsyslog(tmp_path, tls=certificate if tls else None)
    rsyslog.start()
    settings.SIEM_SYSLOG_ADDRESS = ("127.0.0.1", rsyslog.port)
    settings.SIEM_SYSLOG_TLS = tls
    settings.SIEM_SYSLOG_TIMEOUT_S = 5
    yield rsyslog
    rsyslog.stop()


def test_a_message_is_octet_counted_rfc_5424_with_the_entry_as_hashed(settings) -> None:
    entry = ledger.append(action=LedgerAction.DENIED, object_type="tests.siem", object_id='a"b]c\\', actor_name="eve")

    framed = syslog.message(
        sequence=entry.sequence,
        action=entry.action,
        actor_name=entry.actor_name,
        object_type=entry.object_type,
        object_id=entry.object_id,
        recorded_at=entry.recorded_at,
        canonical=bytes(entry.canonical),
        entry_hash=bytes(entry.entry_hash),
        hostname="portal-1",
    )

    length, _, body = framed.partition(b" ")
    assert int(length) == len(body)
    header, _, msg = body.partition(b"] \xef\xbb\xbf")
    assert msg == bytes(entry.canonical)
    assert re.fullmatch(
        rb"<108>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z portal-1 llm-governance-portal - ledger \[ledger@32473 .*",
        header,
    )  # facility 13 (log audit) * 8 + severity 4 (warning): a refused attempt stands out
    assert f'sequence="{entry.sequence}"'.encode() in header
    assert b'object_id="a\\"b\\]c\\\\"' in header
    assert f'entry_hash="{bytes(entry.entry_hash).hex()}"'.encode() in header


@pytest.mark.syslog
def test_every_entry_reaches_the_receiver_once_in_order_with_security_actions_louder(receiver) -> None:
    _append(5)
    _append(2, action=LedgerAction.LOGIN_FAILED)
    total = LedgerEntry.objects.count()

    assert forward_ledger_to_syslog() == total

    lines = receiver.lines(expected=total)
    assert [int(re.search(r'sequence="(\d+)"', line).group(1)) for line in lines] == list(range(1, total + 1))
    severities = {line.split()[0] for line in lines if 'action="login_failed"' in line}
    assert severities == {"4"}
    assert {line.split()[0] for line in lines if 'action="create"' in line} == {"6"}
    assert forward_ledger_to_syslog() == 0  # nothing new, nothing sent again


@pytest.mark.syslog
def test_a_receiver_outage_in_the_middle_of_a_stream_loses_nothing_and_repeats_nothing(receiver, settings) -> None:
    settings.SIEM_SYSLOG_BATCH = 4
    _append(10)
    syslog.forward_batch()
    syslog.forward_batch()
    acknowledged = SyslogCursor.objects.get().last_sequence
    assert acknowledged == 8

    receiver.stop()
    _append(5)
    with pytest.raises(syslog.ForwardFailed, match="did not take the batch"):
        syslog.forward_batch()
    assert forward_ledger_to_syslog() == 0  # the beat's run logs the outage and sends nothing
    assert SyslogCursor.objects.get().last_sequence == acknowledged

    receiver.start()
    sent = syslog.forward_all()

    total = LedgerEntry.objects.count()
    assert sent == total - acknowledged
    assert receiver.sequences(expected=total) == list(range(1, total + 1))


@pytest.mark.syslog
def test_the_forwarder_resumes_from_the_acknowledged_cursor_after_a_restart(receiver) -> None:
    _append(3)
    syslog.forward_all()
    first = LedgerEntry.objects.count()
    _append(3)

    # A new worker process knows nothing but the database.
    SyslogCursor.objects.get()  # the cursor is a row, not memory
    syslog.forward_all()

    total = LedgerEntry.objects.count()
    assert receiver.sequences(expected=total) == list(range(1, total + 1))
    assert first < total


@pytest.mark.syslog
def test_tls_sends_to_a_verified_receiver_and_refuses_an_unknown_one(tmp_path, settings) -> None:
    _server_context, ca_file, other_ca_file = server_and_ca(tmp_path)
    receiver = Rsyslog(
        tmp_path, tls=ServerCertificate(certificate=tmp_path / "server.pem", key=tmp_path / "server.key", ca=ca_file)
    )
    receiver.start()
    settings.SIEM_SYSLOG_ADDRESS = ("127.0.0.1", receiver.port)
    settings.SIEM_SYSLOG_TLS = True
    settings.SIEM_SYSLOG_TIMEOUT_S = 5
    _append(2)
    try:
        settings.SIEM_SYSLOG_CA_FILE = str(other_ca_file)
        with pytest.raises(syslog.ForwardFailed, match="CERTIFICATE_VERIFY_FAILED"):
            syslog.forward_batch()
        assert not SyslogCursor.objects.filter(last_sequence__gt=0).exists()

        settings.SIEM_SYSLOG_CA_FILE = str(ca_file)
        total = LedgerEntry.objects.count()
        assert syslog.forward_batch().sent == total
        assert receiver.sequences(expected=total) == list(range(1, total + 1))
    finally:
        receiver.stop()


def test_without_a_receiver_configured_nothing_is_forwarded(settings) -> None:
    settings.SIEM_SYSLOG_ADDRESS = None
    _append(2)
    assert forward_ledger_to_syslog() == 0
    assert not SyslogCursor.objects.exists()


def test_security_reviewers_and_auditors_see_how_far_the_receiver_has_taken_the_ledger(client, auditor) -> None:
    _append(5)
    SyslogCursor.objects.create(destination="tcp://siem.example.com:6514", last_sequence=2)
    login_verified(client, auditor)

    page = client.get(reverse("admin:webhooks_syslogcursor_changelist"))

    assert page.status_code == 200
    assert "tcp://siem.example.com:6514" in page.content.decode()
    assert f'<td class="field-entries_behind">{LedgerEntry.objects.count() - 2}</td>' in page.content.decode()


@services.postgres_race
@pytest.mark.syslog
@pytest.mark.django_db(transaction=True)
def test_two_workers_forwarding_at_once_send_each_entry_once(receiver, settings) -> None:
    settings.SIEM_SYSLOG_BATCH = 5
    _append(12)
    total = LedgerEntry.objects.count()

    outcomes = run_at_once(syslog.forward_all, syslog.forward_all, syslog.forward_all, timeout=60)

    assert sum(outcome.get() for outcome in outcomes) == total
    assert sorted(receiver.sequences(expected=total)) == list(range(1, total + 1))
