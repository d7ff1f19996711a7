"""The checkpoint statement's Ed25519 signature, verified with the trusted key its ``key_id`` names: never with the
``public_key`` the manifest carries beside it, which anyone re-signing the statement would replace."""

import base64
import binascii

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from evidence_pack_verifier.formats import MANIFEST
from evidence_pack_verifier.pack import Pack
from evidence_pack_verifier.report import CheckFailed
from evidence_pack_verifier.trust import Trust


def check(pack: Pack, trust: Trust) -> str:
    statement, tree_size, root = pack.statement, pack.tree_size, pack.root_hash
    try:
        signature = base64.b64decode(str(pack.manifest["checkpoint"]["signature"]), validate=True)
    except (KeyError, binascii.Error):
        raise CheckFailed(f"the checkpoint in {MANIFEST} has no base64 signature") from None
    key = trust.ledger_keys.get(str(statement.get("key_id")))
    if key is None:
        raise CheckFailed(f"checkpoint {tree_size} names key {statement.get('key_id')!r}, which is not a trusted key")
    try:
        Ed25519PublicKey.from_public_bytes(key.public_key).verify(signature, rfc8785.dumps(statement))
    except (InvalidSignature, ValueError):
        raise CheckFailed(f"the signature of checkpoint {tree_size} does not verify with key {key.key_id}") from None
    # The manifest repeats the size and root beside the statement for readers: they must say the same.
    claim = pack.manifest["checkpoint"]
    if claim.get("tree_size", tree_size) != tree_size or claim.get("root_hash", root.hex()) != root.hex():
        raise CheckFailed(f"{MANIFEST} gives another tree size or root hash than its signed checkpoint")
    return (
        f"checkpoint {tree_size} (root {root.hex()}) signed with key {key.key_id}, fingerprint {key.sha256_fingerprint}"
    )
