"""A pack proves its ledger slice complete from its own contents: the untouched pack does, and one whose slice lost an
entry does not, even when everything else was made consistent again by someone holding the evidence signing key (the
manifest re-hashed, the PDF signed anew) but not the ledger's checkpoint key."""

import io
import json
from collections import Counter
from collections.abc import Callable

import pytest
from evidence_pack_verifier import trust, verify
from evidence_pack_verifier.completeness import completeness_problem
from pypdf import PdfWriter

from audit import heads
from audit.verification_keys import published
from evidence import builder, signing
from evidence.verify import PackInvalid, verify_pack
from tests.audit.test_object_heads import append_about, legacy_checkpoint
from tests.evidence.helpers import attachments, sha256, text

pytestmark = pytest.mark.django_db

Entry = dict


def parts(pdf: bytes) -> tuple[dict, list[Entry], dict]:
    """What ``completeness_problem`` takes: the manifest, the slice's entries and the checkpoint statement."""
    files = attachments(pdf)
    manifest = json.loads(files[builder.MANIFEST])
    entries = [json.loads(line)["entry"] for line in files[builder.LEDGER].splitlines()]
    return manifest, entries, manifest["checkpoint"]["statement"]


def resigned(pdf: bytes, *, keep: Callable[[Entry], bool], edit: Callable[[dict], None] = lambda _m: None) -> bytes:
    """The insider's forgery: the pack before its signature, the slice without the entries ``keep`` refuses, the
    manifest's digest, size and slice figures made to match (and ``edit`` applied), signed again with the portal's
    own evidence signing key."""
    unsigned = pdf[: pdf.rindex(b"%%EOF", 0, len(pdf) - 10) + 5]  # the revision before the signature
    files = attachments(unsigned)
    lines = [line for line in files[builder.LEDGER].splitlines(keepends=True) if keep(json.loads(line)["entry"])]
    ledger = b"".join(lines)
    manifest = json.loads(files[builder.MANIFEST])
    sequences = [json.loads(line)["entry"]["sequence"] for line in lines]
    manifest["files"][builder.LEDGER] = {"sha256": sha256(ledger), "size": len(ledger)}
    manifest["ledger_slice"] = {
        "entries": len(lines),
        "first_sequence": min(sequences),
        "last_sequence": max(sequences),
    }
    edit(manifest)
    changed = {builder.LEDGER: ledger, builder.MANIFEST: json.dumps(manifest, indent=2, sort_keys=True).encode()}
    writer = PdfWriter(clone_from=io.BytesIO(unsigned))
    for embedded in writer.attachment_list:
        if embedded.name in changed:
            embedded.content = changed[embedded.name]
    out = io.BytesIO()
    writer.write(out)
    return signing.sign_pack(out.getvalue())


@pytest.fixture
def pack(promoted) -> bytes:
    return builder.build_pack(use_case=promoted.use_case, model_version=promoted).pdf


def about(entry: Entry) -> tuple[str, str]:
    return entry["object_type"], entry["object_id"]


def test_the_untouched_pack_proves_its_slice_complete_and_states_its_rule(pack) -> None:
    manifest, entries, statement = parts(pack)

    assert completeness_problem(manifest, entries, statement) is None
    section = manifest["completeness"]
    assert f"from 1 to {statement['tree_size']}" in section["rule"]
    assert {about(entry) for entry in entries} <= {tuple(key) for key in section["objects"]}
    assert "The ledger slice is complete." in text(pack)


def test_a_forgery_that_leaves_everything_intact_is_still_a_valid_signed_pack(pack) -> None:
    """The test below means something only if the forger's pack passes every other check."""
    forged = resigned(pack, keep=lambda _entry: True)

    offline, _pack = verify(forged, trust.parse(published()))
    assert offline.failure is None, offline.failure
    assert completeness_problem(*parts(forged)) is None


def counts(entries: list[Entry]) -> Counter:
    return Counter(about(entry) for entry in entries)


@pytest.mark.parametrize("which", ["a middle entry", "the last entry about an object", "an object's only entry"])
def test_a_slice_with_one_entry_dropped_and_everything_else_made_consistent_is_rejected(pack, which: str) -> None:
    _manifest, entries, _statement = parts(pack)
    per_object = counts(entries)
    if which == "an object's only entry":
        target = next(entry for entry in entries if per_object[about(entry)] == 1)
    else:
        key = next(key for key, count in per_object.most_common() if count >= 3)
        about_it = [entry for entry in entries if about(entry) == key]
        target = about_it[1] if which == "a middle entry" else about_it[-1]
    forged = resigned(pack, keep=lambda entry: entry["sequence"] != target["sequence"])
    manifest, forged_entries, statement = parts(forged)
    assert len(forged_entries) == len(entries) - 1
    offline, _pack = verify(forged, trust.parse(published()))
    assert offline.failure.check == "completeness"  # the insider's signature and every other check hold

    problem = completeness_problem(manifest, forged_entries, statement)

    assert problem is not None
    assert f"incomplete for {target['object_type']} #{target['object_id']}" in problem
    with pytest.raises(PackInvalid, match="incomplete for"):
        verify_pack(forged)


def test_heads_restated_to_match_the_shorter_slice_are_not_the_signed_ones(pack) -> None:
    _manifest, entries, _statement = parts(pack)
    key = next(key for key, count in counts(entries).most_common() if count >= 2)
    target = next(entry for entry in entries if about(entry) == key)
    bucket = str(heads.bucket_of(*about(target)))

    def restate(manifest: dict) -> None:
        for head in manifest["completeness"]["buckets"][bucket]["heads"]:
            if (head[0], head[1]) == about(target):
                head[2] -= 1

    forged = resigned(pack, keep=lambda entry: entry["sequence"] != target["sequence"], edit=restate)
    problem = completeness_problem(*parts(forged))

    assert problem is not None
    assert f"bucket {bucket} are not those the checkpoint signed" in problem


def test_dropping_an_object_and_its_bucket_from_the_proof_cannot_be_proved_complete(pack) -> None:
    manifest, entries, statement = parts(pack)
    key = about(entries[0])
    del manifest["completeness"]["buckets"][str(heads.bucket_of(*key))]

    problem = completeness_problem(manifest, entries, statement)

    assert problem is not None
    assert "cannot be proved" in problem


def test_an_entry_about_an_object_outside_the_scope_is_refused(pack) -> None:
    manifest, entries, statement = parts(pack)
    stranger = {**entries[0], "object_type": "tests.stranger", "object_id": "1"}

    problem = completeness_problem(manifest, [*entries, stranger], statement)

    assert problem is not None
    assert "tests.stranger #1, which its scope does not list" in problem


def test_a_pack_without_completeness_or_a_checkpoint_without_heads_cannot_be_proved_complete(pack) -> None:
    manifest, entries, statement = parts(pack)
    older = {key: value for key, value in statement.items() if key != heads.STATEMENT_FIELD}
    without = {key: value for key, value in manifest.items() if key != "completeness"}

    assert "cannot be proved" in completeness_problem(manifest, entries, older)
    assert "cannot be proved" in completeness_problem(without, entries, statement)
    assert "cannot be proved" in completeness_problem("not a manifest", entries, None)


def test_malformed_sections_are_problems_not_exceptions(pack) -> None:
    manifest, entries, statement = parts(pack)
    bucket = next(iter(manifest["completeness"]["buckets"]))
    for broken in (
        {"objects": "all"},
        {"buckets": {bucket: {"heads": "x", "proof": []}}},
        {"buckets": {bucket: {"heads": [["a", "b", "1", 2]], "proof": []}}},
        {"buckets": {"65536": {"heads": [], "proof": []}}},
        {"buckets": {"007": {"heads": [], "proof": []}}},
        {"buckets": {bucket: {**manifest["completeness"]["buckets"][bucket], "proof": ["zz"] * 16}}},
    ):
        section = {**manifest["completeness"], **broken}
        assert completeness_problem({**manifest, "completeness": section}, entries, statement) is not None
    assert completeness_problem(manifest, [*entries, "not an entry"], statement) is not None


def test_a_pack_of_a_ledger_from_before_the_heads_is_built_on_a_new_checkpoint_that_has_them(db) -> None:
    append_about(("tests.a", "1"))
    old = legacy_checkpoint()

    made = builder.ensure_checkpoint()

    assert made.tree_size > old.tree_size
    assert heads.statement_root(made) is not None
