"""Keep publishing an application's sample messages at a bounded rate (`streams dev --demo`).

The samples come from 'module:attribute' (STREAMS_DEMO, default consumers.demo:samples): a
function taking a random.Random and returning an endless iterator of (queue, type, data).
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable, Iterator
from typing import Final, cast

import anyio
from redis.exceptions import RedisError

from streams.client import create_redis
from streams.config import Settings
from streams.errors import StreamsError
from streams.loading import call_factory, import_object
from streams.producer import Producer
from streams.router import Registry

log = logging.getLogger(__name__)

DEFAULT_SAMPLES: Final = "consumers.demo:samples"
Sample = tuple[str, str, object]
SampleFactory = Callable[[random.Random], Iterator[Sample]]


def _spec(spec: str | None) -> str:
    return spec or os.environ.get("STREAMS_DEMO", "").strip() or DEFAULT_SAMPLES


def load_samples(spec: str | None = None) -> SampleFactory:
    """Import the sample factory from 'module:attribute' (STREAMS_DEMO or the default)."""
    spec = _spec(spec)
    found = import_object(spec, "STREAMS_DEMO", DEFAULT_SAMPLES)
    if not callable(found):
        raise StreamsError(f"STREAMS_DEMO: {spec!r} is a {type(found).__name__}, not a function")
    factory: SampleFactory = found
    return factory


def demo_samples(spec: str | None = None) -> Iterator[Sample]:
    """Load the sample factory and start it; a failure is one StreamsError naming STREAMS_DEMO."""
    factory = load_samples(spec)
    rng = random.Random()  # noqa: S311  # demo data, not security
    samples = call_factory(lambda: iter(factory(rng)), _spec(spec), "STREAMS_DEMO")
    return cast(Iterator[Sample], samples)


async def publish_samples(
    settings: Settings, registry: Registry, samples: Iterator[Sample], rate_per_s: float
) -> None:
    """Publish one sample every 1/rate_per_s seconds until cancelled; log and go on on errors."""
    redis = create_redis(settings, max_connections=2)
    producer = Producer(redis, settings, registry)
    published = 0
    try:
        for queue, type_, data in samples:
            try:
                await producer.publish(queue, type_, data)
                published += 1
            except (RedisError, StreamsError) as exc:
                log.warning("demo: could not publish %s on %s: %s", type_, queue, exc)
            if published and published % 100 == 0:
                log.info("demo: %d sample messages published", published)
            await anyio.sleep(1 / rate_per_s)
    finally:
        with anyio.CancelScope(shield=True):
            await redis.aclose()
