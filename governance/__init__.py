"""Governance: use cases, requirements, policies and controls, RACI, thresholds, roles, the audit ledger and
electronic signatures. The base every other app builds on; it imports from none of them."""
