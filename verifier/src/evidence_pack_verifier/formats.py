"""The names and kinds the portal's formats use (README, "Formats, for anyone writing a second verifier")."""

MANIFEST = "manifest.json"
LEDGER = "ledger.jsonl"
MANIFEST_KIND = "llm-governance-portal/evidence-pack/v1"
CHECKPOINT_KIND = "llm-governance-portal/ledger-checkpoint/v1"
KEYS_KIND = "llm-governance-portal/verification-keys/v1"
#: The one signature field of a pack, PAdES (``/ETSI.CAdES.detached``) over the whole file.
SIGNATURE_FIELD = "EvidencePackSignature"
#: ``prev_hash`` of ledger entry 1.
GENESIS_HASH = bytes(32)
