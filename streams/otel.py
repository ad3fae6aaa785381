"""OpenTelemetry spans for publishing and handling; imported only through streams/tracing.py.

Publishing runs in a PRODUCER span ``send <stream>`` and injects the W3C ``traceparent``
(and ``tracestate``) into the entry's ``headers``. Each delivery runs in a CONSUMER span
``process <stream>`` whose parent is the producer's context from those headers, with the
messaging semantic conventions (``messaging.system`` redis, ``messaging.destination.name``
the stream, ``messaging.message.id`` the entry id, ``messaging.consumer.group.name``) plus
``streams.delivery_count`` and ``streams.outcome`` (acked, retried, dead_lettered, gone).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final

import msgspec
from opentelemetry import context, propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from streams.enqueue import Published
from streams.reclaimer import Entry

log = logging.getLogger(__name__)

SYSTEM: Final = "redis"
OUTCOMES: Final = {"retry": "retried", "dead": "dead_lettered", "gone": "gone"}
_outcome: ContextVar[list[str]] = ContextVar("streams_outcome")
_headers: Final = msgspec.json.Decoder(dict[str, str])


def _entry_headers(fields: Mapping[bytes, bytes]) -> dict[str, str]:
    raw = fields.get(b"headers")
    if raw is None:
        return {}
    try:
        return _headers.decode(raw)
    except msgspec.DecodeError:
        return {}  # the handler's own decoding reports it


class Tracing:
    """Spans of one process, from one tracer provider."""

    def __init__(self, provider: Any) -> None:
        self.tracer = provider.get_tracer("godo-streams")

    async def publish(
        self,
        stream: str,
        headers: Mapping[str, str] | None,
        send: Callable[[dict[str, str]], Awaitable[Published]],
    ) -> Published:
        """Run send(headers with the trace context) inside a producer span."""
        attributes = {
            "messaging.system": SYSTEM,
            "messaging.destination.name": stream,
            "messaging.operation.type": "send",
            "messaging.operation.name": "send",
        }
        with self.tracer.start_as_current_span(
            f"send {stream}", kind=SpanKind.PRODUCER, attributes=attributes
        ) as span:
            carrier = dict(headers or {})
            propagate.inject(carrier)
            published = await send(carrier)
            span.set_attribute("messaging.message.id", str(published))
            span.set_attribute("streams.duplicate", published.duplicate)
            if published.due_ms is not None:
                span.set_attribute("streams.due_ms", published.due_ms)
            return published

    async def process(
        self, stream: str, group: str, entry: Entry, run: Callable[[Entry], Awaitable[None]]
    ) -> None:
        """Run one delivery inside a consumer span continuing the producer's trace."""
        entry_id, fields, attempt = entry
        attributes = {
            "messaging.system": SYSTEM,
            "messaging.destination.name": stream,
            "messaging.operation.type": "process",
            "messaging.operation.name": "process",
            "messaging.message.id": entry_id,
            "messaging.consumer.group.name": group,
            "streams.delivery_count": attempt,
        }
        outcome: list[str] = []
        token = _outcome.set(outcome)
        try:
            with self.tracer.start_as_current_span(
                f"process {stream}",
                context=propagate.extract(_entry_headers(fields)),
                kind=SpanKind.CONSUMER,
                attributes=attributes,
            ) as span:
                await run(entry)
                span.set_attribute("streams.outcome", outcome[-1] if outcome else "acked")
        finally:
            _outcome.reset(token)

    def failed(self, exc: BaseException) -> None:
        """Record a handler's exception on the current consumer span."""
        span = trace.get_current_span()
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:200]))

    def settled(self, outcome: str) -> None:
        """Remember how a failure was settled (retry, dead, gone) for the current span."""
        found = _outcome.get(None)
        if found is not None:
            found.append(OUTCOMES.get(outcome, outcome))

    @contextmanager
    def continue_from(self, headers: Mapping[str, str]) -> Iterator[None]:
        """Make the trace of incoming HTTP headers (traceparent) the current context."""
        token = context.attach(propagate.extract(dict(headers)))
        try:
            yield
        finally:
            context.detach(token)


def install_provider(exporter: str) -> Any:
    """The application's tracer provider, or a new SDK one exporting to exporter."""
    current = trace.get_tracer_provider()
    if not isinstance(current, trace.ProxyTracerProvider):
        return current  # the application configured OpenTelemetry itself
    try:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:  # the API alone: spans are no-ops until the application sets a provider
        return current
    provider = TracerProvider()  # its resource reads OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
    span_exporter = _exporter(exporter)
    if span_exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(span_exporter))
    trace.set_tracer_provider(provider)
    return provider


def _exporter(name: str) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if name == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]  # optional package
                OTLPSpanExporter,
            )
        except ImportError:
            log.warning(
                "OTEL_TRACES_EXPORTER=otlp needs opentelemetry-exporter-otlp-proto-http; "
                "spans are created and propagated but not exported"
            )
            return None
        return OTLPSpanExporter()
    if name != "none":
        log.warning("OTEL_TRACES_EXPORTER=%s is not supported (otlp, console, none)", name)
    return None
