"""Services of the model registry, one module per part of the lifecycle. Every function checks role
permission, segregation of duties and state, and writes the audit ledger in its own transaction."""
