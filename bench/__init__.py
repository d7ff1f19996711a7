"""Benchmarks, run with ``make bench`` on the database ``DATABASE_URL`` names (SQLite otherwise).

Each benchmark runs against a throw-away test database and prints ``name value unit`` lines.
"""
