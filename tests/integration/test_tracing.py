"""OpenTelemetry: one trace from POST /queues/.../messages to the handler; a retry is two spans."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import msgspec
import pytest
from redis.asyncio import Redis

from consumers.registry import create_registry
from streams import Context, Producer, Registry, tracing
from streams.worker import Worker
from tests.integration.api_support import AUTH, api_client
from tests.support import make_settings, wait_until

otel_sdk = pytest.importorskip("opentelemetry.sdk.trace", reason="the otel extra is not installed")
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode  # noqa: E402

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    yield exporter
    tracing.use(None)


def named(exporter: InMemorySpanExporter, prefix: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name.startswith(prefix)]


async def test_one_trace_from_the_http_publish_to_the_handler(
    redis: Redis, redis_url: str, prefix: str, spans: InMemorySpanExporter
) -> None:
    # Given a worker and the API
    settings = make_settings(redis_url, prefix)
    registry = create_registry()
    async with anyio.create_task_group() as tg, api_client(redis_url, prefix) as client:
        worker = Worker(redis, settings, registry, ["default"], name="w1")
        await tg.start(worker.run)
        # When a request that is part of a trace publishes a message
        traceparent = f"00-{TRACE_ID}-{PARENT_ID}-01"
        response = await client.post(
            "/queues/default/messages",
            json={"type": "ping", "data": {"message": "hi"}},
            headers={**AUTH, "traceparent": traceparent},
        )

        async def handled() -> list[ReadableSpan]:
            return named(spans, "process ")

        await wait_until(handled)
        worker.request_stop()

    # Then the producer span continues the request's trace and the consumer span continues it
    (send,) = named(spans, "send ")
    (process,) = named(spans, "process ")
    assert send.context is not None
    assert process.context is not None
    assert f"{send.context.trace_id:032x}" == TRACE_ID
    assert send.parent is not None
    assert f"{send.parent.span_id:016x}" == PARENT_ID
    assert send.kind == SpanKind.PRODUCER
    assert process.context.trace_id == send.context.trace_id
    assert process.parent is not None
    assert process.parent.span_id == send.context.span_id
    assert process.kind == SpanKind.CONSUMER
    entry_id = response.json()["id"]
    assert dict(process.attributes or {}) == {
        "messaging.system": "redis",
        "messaging.destination.name": f"{{{prefix}:default}}:stream",
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.message.id": entry_id,
        "messaging.consumer.group.name": "godo",
        "streams.delivery_count": 1,
        "streams.outcome": "acked",
    }
    assert (send.attributes or {})["messaging.message.id"] == entry_id


class Flaky(msgspec.Struct, frozen=True):
    n: int


async def test_a_retry_shows_two_consumer_spans_in_the_same_trace(
    redis: Redis, redis_url: str, prefix: str, spans: InMemorySpanExporter
) -> None:
    # Given a handler that fails on its first delivery
    settings = make_settings(redis_url, prefix)

    async def handle(job: Flaky, ctx: Context) -> None:
        if ctx.attempt == 1:
            raise RuntimeError("first delivery fails")

    registry = Registry()
    registry.message("default", "flaky", Flaky, handle)
    await Producer(redis, settings, registry).publish("default", "flaky", Flaky(1))

    # When a worker handles it
    with anyio.fail_after(10):
        await Worker(redis, settings, registry, ["default"]).run(stop_when_idle=True)

    # Then there are two consumer spans under the producer's: retried with the error, then acked
    (send,) = named(spans, "send ")
    first, second = sorted(named(spans, "process "), key=lambda s: s.start_time or 0)
    assert send.context is not None
    for span in (first, second):
        assert span.context is not None
        assert span.context.trace_id == send.context.trace_id
        assert span.parent is not None
        assert span.parent.span_id == send.context.span_id
    first_attrs, second_attrs = dict(first.attributes or {}), dict(second.attributes or {})
    assert (first_attrs["streams.delivery_count"], first_attrs["streams.outcome"]) == (1, "retried")
    assert (second_attrs["streams.delivery_count"], second_attrs["streams.outcome"]) == (2, "acked")
    assert first.status.status_code == StatusCode.ERROR
    assert [e.name for e in first.events] == ["exception"]
    assert second.status.status_code == StatusCode.UNSET
