"""Which queues a Worker consumes."""

from __future__ import annotations

from fakeredis import FakeAsyncRedis

from streams import Registry, Secret, Settings
from streams.worker import Worker


def test_a_queue_named_twice_gets_one_consumer() -> None:
    settings = Settings(redis_url=Secret("redis://localhost:6379/0"))
    worker = Worker(FakeAsyncRedis(), settings, Registry(), ["events", "default", "events"])
    assert worker.queues == ("events", "default")
