"""The registry of message types and their handlers, per queue.

A producer uses it to validate payloads before publishing; a worker uses it to decode
entries and call the handler. Payloads are msgspec Structs, validated on both sides.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import msgspec
from redis.asyncio import Redis

from streams.errors import DecodeError, ValidationError
from streams.keys import Keys
from streams.messages import MAX_TYPE_LENGTH

P = TypeVar("P", bound=msgspec.Struct)
P_contra = TypeVar("P_contra", bound=msgspec.Struct, contravariant=True)

_encoder = msgspec.json.Encoder()


@dataclass(slots=True)  # not frozen: a frozen __init__ costs ~1 µs per message
class Context:
    """What a handler knows about the entry it is handling."""

    queue: str
    id: str
    type: str
    attempt: int
    key: str | None
    headers: Mapping[str, str]
    published_ms: int | None
    redis: Redis
    keys: Keys


class Handler(Protocol[P_contra]):
    def __call__(self, payload: P_contra, ctx: Context, /) -> Awaitable[None]: ...


@dataclass(frozen=True, slots=True)
class Route(Generic[P]):
    """One (queue, type) pair: its payload schema and, on workers, its handler."""

    queue: str
    type_name: str
    payload: type[P]
    handler: Handler[P] | None
    decoder: msgspec.json.Decoder[P]

    def decode(self, data: bytes) -> P:
        """Decode and validate raw JSON, raising DecodeError naming the bad field."""
        try:
            return self.decoder.decode(data)
        except msgspec.ValidationError as exc:
            # JSON Schema (so `streams schema` and the API's /schema) counts 5.0 as an integer;
            # only a payload that fails pays for this second look (the retry has no such number).
            retry = _integral_floats_as_ints(data)
            if retry is None:
                raise self._invalid(str(exc)) from None
            return self.decode(retry)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:  # bad UTF-8 in a JSON string
            raise self._invalid(str(exc)) from None
        except RecursionError:
            raise self._invalid("nested too deeply") from None

    def _invalid(self, reason: str) -> DecodeError:
        return DecodeError(f"payload of {self.type_name!r} is invalid: {reason}")


def _integral_floats_as_ints(data: bytes) -> bytes | None:
    """The JSON with 5.0 written as 5, or None when it has no such number (or is not JSON)."""
    changed = False

    def walk(value: object) -> object:
        nonlocal changed
        if isinstance(value, float) and value.is_integer():
            changed = True
            return int(value)
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        return value

    try:
        rewritten = walk(msgspec.json.decode(data))
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None
    return _encoder.encode(rewritten) if changed else None


@dataclass
class Registry:
    """Message types and handlers by queue; an application builds one at import time."""

    routes: dict[tuple[str, str], Route[Any]] = field(default_factory=dict)
    cleanups: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def message(
        self, queue: str, type_: str, payload: type[P], handler: Handler[P] | None = None
    ) -> None:
        """Register a message type (and optionally its handler) on a queue."""
        if (queue, type_) in self.routes:
            raise ValueError(f"type {type_!r} is already registered on queue {queue!r}")
        if not 1 <= len(type_) <= MAX_TYPE_LENGTH:
            # Consumers dead-letter such entries as undecodable, so refuse them up front.
            raise ValueError(f"type {type_[:40]!r} must be 1-{MAX_TYPE_LENGTH} characters")
        self.routes[queue, type_] = Route(
            queue, type_, payload, handler, msgspec.json.Decoder(payload)
        )

    def handler(
        self, queue: str, type_: str, payload: type[P]
    ) -> Callable[[Handler[P]], Handler[P]]:
        """Decorator form of message() for a handler function."""

        def register(fn: Handler[P]) -> Handler[P]:
            self.message(queue, type_, payload, fn)
            return fn

        return register

    def on_cleanup(self, fn: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """Register a coroutine the worker awaits at shutdown (close clients and the like)."""
        self.cleanups.append(fn)
        return fn

    def route(self, queue: str, type_: str) -> Route[Any] | None:
        return self.routes.get((queue, type_))

    def types(self, queue: str) -> list[str]:
        return sorted(t for q, t in self.routes if q == queue)

    def queues(self) -> list[str]:
        """The queues with at least one registered type."""
        return sorted({q for q, _ in self.routes})

    def encode(self, queue: str, type_: str, data: object) -> bytes:
        """Validate data (a Struct, a mapping or raw JSON bytes) against its type; return JSON."""
        route = self.routes.get((queue, type_))
        if route is None:
            known = ", ".join(self.types(queue)) or "none"
            raise ValidationError(queue, type_, f"unknown message type; known types: {known}")
        # A Struct built in code skips its constraints (msgspec checks them only when
        # decoding), so it goes through JSON and back like any other payload.
        raw = (
            data
            if isinstance(data, bytes | bytearray | memoryview)
            else _encode_plain(queue, type_, data)
        )
        try:
            return _encoder.encode(route.decode(bytes(raw)))
        except DecodeError as exc:
            raise ValidationError(queue, type_, exc.reason) from None


def _encode_plain(queue: str, type_: str, data: object) -> bytes:
    try:
        return _encoder.encode(data)
    except (TypeError, RecursionError, msgspec.EncodeError) as exc:
        raise ValidationError(queue, type_, f"payload is not JSON-serialisable: {exc}") from None
