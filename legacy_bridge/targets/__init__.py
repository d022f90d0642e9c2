"""Targets by ``kind``: one line per plugin."""

from legacy_bridge.registry import Registry
from legacy_bridge.targets.base import Target

REGISTRY: Registry[Target] = Registry("target", [])
