"""Builds the application's Registry from the per-queue modules."""

from __future__ import annotations

from consumers import default
from streams import Registry


def create_registry() -> Registry:
    registry = Registry()
    default.register(registry)
    return registry


registry = create_registry()
