"""Publishing messages: one at a time, or many in one pipelined round trip."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import msgspec
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from streams import tracing
from streams.config import Settings
from streams.delayed import due_args
from streams.durability import Durability
from streams.enqueue import Enqueuer, Published, dedupe_window, published
from streams.keys import Keys
from streams.messages import OutFields, to_fields
from streams.router import Registry


class Outgoing(msgspec.Struct, frozen=True, kw_only=True):
    """One message to publish with publish_many()."""

    type: str
    data: object
    key: str | None = None
    headers: Mapping[str, str] | None = None


class Producer:
    """Validates payloads against the registry and appends them to a queue's stream."""

    def __init__(self, redis: Redis, settings: Settings, registry: Registry) -> None:
        self.redis = redis
        self.settings = settings
        self.registry = registry
        self.keys = Keys(settings.prefix)
        self.durability = Durability(settings)
        self._enqueuer = Enqueuer(redis, self.keys)
        self._tracing = tracing.for_settings(settings)

    async def publish(
        self,
        queue: str,
        type_: str,
        data: object,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
        delay_ms: int | None = None,
        at: datetime | None = None,
        dedupe_ms: int | None = None,
    ) -> Published:
        """Validate and append one message, now or when due; return its id.

        Args:
            delay_ms: publish this many milliseconds from now (the payload is validated now).
            at: publish at this timezone-aware time instead.
            dedupe_ms: with a key, publish at most once per window (default: the queue's
                STREAMS_[QUEUE_]DEDUPE_MS); a repeat returns the first id marked duplicate.

        Raises:
            UnknownQueueError: the queue is not configured.
            ValidationError: the type is unknown or the payload does not match its schema.
            PublishError: an invalid delay, time or dedupe window.
            NotDurableError: STREAMS_PUBLISH_MIN_REPLICAS replicas did not confirm it in time.
        """
        qs = self.settings.queue(queue)
        payload = self.registry.encode(queue, type_, data)
        plain = delay_ms is None and at is None and dedupe_ms is None
        if (
            plain
            and self._tracing is None
            and not self.durability.required
            and (key is None or not qs.dedupe_ms)
        ):
            fields = to_fields(type_, payload, key=key, headers=headers)
            entry_id = await self.redis.xadd(self.keys.stream(queue), fields)  # type: ignore[arg-type]  # redis-py's FieldT is invariant
            return Published(entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id))
        window = dedupe_window(key, dedupe_ms, qs.dedupe_ms)
        if not plain:
            due_args(delay_ms, at)  # a bad delay fails before anything is traced or sent

        async def send(with_headers: Mapping[str, str] | None) -> Published:
            fields = to_fields(type_, payload, key=key, headers=with_headers)
            return await self._send(queue, fields, window=window, delay_ms=delay_ms, at=at)

        if self._tracing is not None:
            return await self._tracing.publish(self.keys.stream(queue), headers, send)
        return await send(headers)

    async def _send(
        self,
        queue: str,
        fields: OutFields,
        *,
        window: int,
        delay_ms: int | None,
        at: datetime | None,
    ) -> Published:
        scripted = bool(window) or delay_ms is not None or at is not None

        async def write(pipe: Pipeline) -> None:
            if scripted:
                await self._enqueuer.enqueue(
                    queue, fields, delay_ms=delay_ms, at=at, window_ms=window, client=pipe
                )
            else:
                pipe.xadd(self.keys.stream(queue), fields)  # type: ignore[arg-type]  # see publish()

        if self.durability.required:
            (reply,) = await self.durability.confirm(self.redis, queue, write, atomic=False)
            return published(reply)
        if scripted:
            reply = await self._enqueuer.enqueue(
                queue, fields, delay_ms=delay_ms, at=at, window_ms=window
            )
            return published(reply)
        return published(await self.redis.xadd(self.keys.stream(queue), fields))  # type: ignore[arg-type]  # see publish()

    async def publish_many(self, queue: str, messages: Iterable[Outgoing]) -> list[str]:
        """Validate every message first, then append all of them atomically in one round trip.

        Nothing is published when any message fails validation. With durable publish the
        whole batch is confirmed by one WAIT (NotDurableError names every id). With the
        queue's dedupe window (STREAMS_[QUEUE_]DEDUPE_MS), messages with a key are
        deduplicated as by publish(), and the ids are Published (a duplicate gets the first id).
        """
        window = self.settings.queue(queue).dedupe_ms
        batch: Sequence[dict[str, str | bytes]] = [
            to_fields(
                m.type, self.registry.encode(queue, m.type, m.data), key=m.key, headers=m.headers
            )
            for m in messages
        ]
        stream = self.keys.stream(queue)
        if not window:
            if self.durability.required:
                return await self.durability.append(self.redis, queue, stream, batch, atomic=True)
            async with self.redis.pipeline(transaction=True) as pipe:
                for fields in batch:
                    pipe.xadd(stream, fields)  # type: ignore[arg-type]  # see publish()
                ids = await pipe.execute()
            return [i.decode() if isinstance(i, bytes) else str(i) for i in ids]

        async def write(pipe: Pipeline) -> None:
            for fields in batch:
                if "key" in fields:
                    await self._enqueuer.enqueue(
                        queue, fields, delay_ms=None, at=None, window_ms=window, client=pipe
                    )
                else:
                    pipe.xadd(stream, fields)  # type: ignore[arg-type]  # see publish()

        if self.durability.required:
            replies = await self.durability.confirm(self.redis, queue, write, atomic=True)
        else:
            async with self.redis.pipeline(transaction=True) as pipe:
                await write(pipe)
                replies = await pipe.execute()
        return [published(reply) for reply in replies]
