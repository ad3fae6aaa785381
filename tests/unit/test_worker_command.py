"""`streams worker`'s start-up, without Redis."""

from __future__ import annotations

import argparse
import gc
from typing import Any

import pytest

from streams.commands import worker


def test_start_up_objects_are_frozen_before_the_event_loop_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    monkeypatch.setenv("REDIS_URL", "redis://redis.invalid:6379")
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(worker.anyio, "run", lambda *a, **k: calls.append("run"))
    args: Any = argparse.Namespace(app="bench.app:registry", queues=[])

    assert worker.run(args) == 0
    assert calls == ["freeze", "run"]
