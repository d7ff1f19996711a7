"""The embedded files against the manifest: every file the manifest lists is embedded with the SHA-256 and size it
gives, and nothing else is embedded."""

import hashlib

from evidence_pack_verifier.formats import MANIFEST
from evidence_pack_verifier.pack import Pack
from evidence_pack_verifier.report import CheckFailed
from evidence_pack_verifier.trust import Trust


def check(pack: Pack, trust: Trust) -> str:
    listed = pack.manifest.get("files")
    if not isinstance(listed, dict) or not all(isinstance(entry, dict) for entry in listed.values()):
        raise CheckFailed(f"{MANIFEST} lists no files")
    embedded = pack.attachments
    for name, entry in sorted(listed.items()):
        if name not in embedded:
            raise CheckFailed(f"{name} is listed in {MANIFEST} but not embedded")
        digest = hashlib.sha256(embedded[name]).hexdigest()
        if digest != entry.get("sha256"):
            raise CheckFailed(f"{name} was altered: its SHA-256 is {digest}, {MANIFEST} says {entry.get('sha256')}")
        if len(embedded[name]) != entry.get("size"):
            raise CheckFailed(f"{name} is {len(embedded[name])} bytes, {MANIFEST} says {entry.get('size')}")
    unlisted = sorted(set(embedded) - set(listed) - {MANIFEST})
    if unlisted:
        raise CheckFailed(f"embedded but not in {MANIFEST}: {', '.join(unlisted)}")
    return f"{len(listed)} files match the SHA-256 and size {MANIFEST} gives ({', '.join(sorted(listed))})"
