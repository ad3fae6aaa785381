"""Builds the application's Registry from the per-queue modules."""

from __future__ import annotations

from consumers import default, events, ml, notifications
from consumers.cache import CacheProvider
from consumers.settings import AppSettings, from_env
from streams import Registry


def create_registry(settings: AppSettings | None = None) -> Registry:
    """Register every Godo message type; settings default to the environment's."""
    settings = from_env() if settings is None else settings
    registry = Registry()
    default.register(registry)
    events.register(registry)
    notifications.register(registry, settings)
    caches = CacheProvider(settings.cache_redis_url)
    ml.register(registry, caches.for_context)
    registry.on_cleanup(caches.close)
    return registry


registry = create_registry()
