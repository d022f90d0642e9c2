"""scripts/bench: legacy_bridge measured against the alternatives, in the same run (issue 10)."""
