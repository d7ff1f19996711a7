"""A minimal governed app, installed only in tests, that exercises the trust core the way domain apps do."""
