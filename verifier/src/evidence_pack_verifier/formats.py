"""The names and kinds the portal's formats use (README, "Formats, for anyone writing a second verifier")."""

MANIFEST = "manifest.json"
LEDGER = "ledger.jsonl"
#: An output provenance statement's record of the one answer it is about, with its proof into its batch's root.
RECORD = "record.json"
MANIFEST_KIND = "llm-governance-portal/evidence-pack/v1"
STATEMENT_KIND = "llm-governance-portal/output-provenance-statement/v1"
#: What each kind of document is called in the verifier's report.
DOCUMENTS = {MANIFEST_KIND: "Evidence pack", STATEMENT_KIND: "Output provenance statement"}
CHECKPOINT_KIND = "llm-governance-portal/ledger-checkpoint/v1"
KEYS_KIND = "llm-governance-portal/verification-keys/v1"
#: The one signature field of a pack, PAdES (``/ETSI.CAdES.detached``) over the whole file.
SIGNATURE_FIELD = "EvidencePackSignature"
#: ``prev_hash`` of ledger entry 1.
GENESIS_HASH = bytes(32)
