from __future__ import annotations

from consumers.registry import create_registry
from consumers.settings import AppSettings


def test_every_godo_message_type_is_registered_with_a_handler() -> None:
    registry = create_registry(AppSettings())
    assert {(q, t): r.handler is not None for (q, t), r in registry.routes.items()} == {
        ("default", "ping"): True,
        ("events", "event.discovered"): True,
        ("events", "events.drop_past"): True,
        ("notifications", "notification.requested"): True,
        ("ml", "recommendations.refresh"): True,
        ("ml", "recommendations.refresh_active"): True,
    }
    assert len(registry.cleanups) == 2  # the webhook HTTP client and the cache client
