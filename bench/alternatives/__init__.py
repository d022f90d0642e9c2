"""What a team would use instead of legacy_bridge, and the ceilings (each runs as its own process)."""
