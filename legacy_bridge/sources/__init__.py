"""Sources by ``kind``: one line per plugin."""

from legacy_bridge.registry import Registry
from legacy_bridge.sources.base import Source

REGISTRY: Registry[Source] = Registry("source", [])
