"""verify-evidence-pack as an auditor runs it: its own process, no Django settings, no database, only the pack and the
published keys. The untouched pack passes every check; inputs it cannot work with are named, with exit status 2."""

import json
import sys

import pytest
from evidence_pack_verifier import checks_for
from evidence_pack_verifier.formats import MANIFEST_KIND

from tests.verifier import forgery
from tests.verifier.conftest import as_an_auditor, run_verifier

pytestmark = pytest.mark.django_db  # the pack is built in the test database (the verifier itself never sees one)


def test_the_pack_as_issued_passes_every_check_and_says_what_each_established(issued, tmp_path) -> None:
    result = run_verifier(issued.pdf, "--trust", issued.keys, cwd=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == [f"ok  {check.name}" for check in checks_for(MANIFEST_KIND)]
    assert "answer record" not in result.stdout  # a statement's check: a pack answers for no single output
    assert "PAdES over the whole file, intact; signer O=Test Portal,CN=Test Portal evidence signing" in lines[0]
    published = json.loads(issued.keys.read_text())
    assert published["evidence_signing_certificates"][0]["sha256_fingerprint"] in lines[0]
    assert published["ledger_checkpoint_keys"][0]["sha256_fingerprint"] in result.stdout
    assert lines[-1].startswith("Evidence pack verified:")
    assert result.stderr == ""


def test_the_json_report_lists_every_check_passed(issued, tmp_path) -> None:
    result = run_verifier(issued.pdf, "--trust", issued.keys, "--json", cwd=tmp_path)

    report = json.loads(result.stdout)
    assert result.returncode == 0
    assert report["ok"] is True
    assert report["failure"] is None
    assert [passed["check"] for passed in report["passed"]] == [check.name for check in checks_for(MANIFEST_KIND)]


def test_the_json_report_names_the_first_failure(issued, tmp_path) -> None:
    stripped = tmp_path / "stripped.pdf"
    stripped.write_bytes(forgery.unsigned_revision(issued.pdf.read_bytes()))

    result = run_verifier(stripped, "--trust", issued.keys, "--json", cwd=tmp_path)

    report = json.loads(result.stdout)
    assert result.returncode == 1
    assert report["ok"] is False
    assert report["passed"] == []
    assert report["failure"] == {"check": "document signature", "reason": "the PDF carries no document signature"}


def test_the_verifier_never_imports_django(issued, tmp_path) -> None:
    program = (
        "import sys, pathlib\n"
        "from evidence_pack_verifier import trust, verify\n"
        f"report, _pack = verify(pathlib.Path({str(issued.pdf)!r}).read_bytes(), trust.load({str(issued.keys)!r}))\n"
        "assert report.ok, report.failure\n"
        "loaded = sorted(name for name in sys.modules if name.split('.')[0] in {'django', 'audit', 'evidence'})\n"
        "assert not loaded, loaded\n"
        "print('checked without django')\n"
    )

    result = as_an_auditor([sys.executable, "-c", program], cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "checked without django"


def test_a_file_that_is_not_a_pdf_fails_the_document_signature_check(issued, tmp_path) -> None:
    text = tmp_path / "notes.pdf"
    text.write_text("These are not the packs you are looking for.\n")

    result = run_verifier(text, "--trust", issued.keys, cwd=tmp_path)

    assert result.returncode == 1
    assert result.stdout.startswith("FAILED document signature: the file is not a readable PDF")


def test_a_missing_pack_or_keys_file_cannot_be_verified(issued, tmp_path) -> None:
    missing_pack = run_verifier(tmp_path / "none.pdf", "--trust", issued.keys, cwd=tmp_path)
    missing_keys = run_verifier(issued.pdf, "--trust", tmp_path / "none.json", cwd=tmp_path)
    no_trust = run_verifier(issued.pdf, cwd=tmp_path)

    assert missing_pack.returncode == 2
    assert "cannot read" in missing_pack.stderr
    assert "none.pdf" in missing_pack.stderr
    assert missing_keys.returncode == 2
    assert "trusted keys: cannot read" in missing_keys.stderr
    assert no_trust.returncode == 2
    assert "--trust" in no_trust.stderr
    assert missing_pack.stdout == missing_keys.stdout == no_trust.stdout == ""


def test_malformed_keys_files_are_named_with_what_is_wrong(issued, tmp_path) -> None:
    published = json.loads(issued.keys.read_text())
    ledger_key = published["ledger_checkpoint_keys"][0]
    cases = {
        "not json": ("{not json", "is not JSON"),
        "another document": (json.dumps({"kind": "something/else"}), "not a verification keys document"),
        "keys not a list": (json.dumps({**published, "ledger_checkpoint_keys": {}}), "ledger_checkpoint_keys is not"),
        "fingerprint of another key": (
            json.dumps({**published, "ledger_checkpoint_keys": [{**ledger_key, "sha256_fingerprint": "0" * 64}]}),
            "ledger_checkpoint_keys[0]: sha256_fingerprint is not the SHA-256 of its public_key",
        ),
        "certificate not pem": (
            json.dumps(
                {
                    **published,
                    "evidence_signing_certificates": [
                        {**published["evidence_signing_certificates"][0], "certificate_pem": "-----BEGIN nothing"}
                    ],
                }
            ),
            "evidence_signing_certificates[0]: certificate_pem is not a PEM certificate",
        ),
    }
    for case, (body, message) in cases.items():
        keys = tmp_path / "keys.json"
        keys.write_text(body)

        result = run_verifier(issued.pdf, "--trust", keys, cwd=tmp_path)

        assert result.returncode == 2, case
        assert message in result.stderr, (case, result.stderr)
        assert result.stdout == "", case
