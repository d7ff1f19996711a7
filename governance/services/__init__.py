"""Services: every change of governed state goes through one of these functions.

Each takes keyword-only arguments, runs in one transaction, locks what it changes, checks role permission,
segregation of duties and state, and leaves the ledger entries behind (captured from history and
transitions, or appended explicitly). Refusals raise ``audit.ledger.ActionDenied`` and are recorded;
malformed input raises ``django.core.exceptions.ValidationError`` and changes nothing.
"""
