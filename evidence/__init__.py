"""Evidence: evidence packs (PDF/A-3), standard exports and pack verification. Builds on every other app."""
