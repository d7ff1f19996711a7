"""An evidence pack checked with nothing but the pack and a trusted list of published keys."""
