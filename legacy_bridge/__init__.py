"""legacy_bridge."""
__version__ = "0.1.0"
