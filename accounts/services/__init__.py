"""Services of identity and access: every change to a second factor and every signing goes through one of these,
which checks who may do it and writes the audit ledger in the same transaction."""
