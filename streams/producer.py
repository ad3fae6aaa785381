"""Publishing messages: one at a time, or many in one pipelined round trip."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import anyio
import msgspec
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from streams import partitions, tracing
from streams.client import make_keys
from streams.config import Settings
from streams.delayed import due_args
from streams.durability import Durability
from streams.enqueue import Enqueuer, Published, dedupe_window, published
from streams.keys import Keys
from streams.messages import OutFields, to_fields
from streams.partitions import Chooser, Partition
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
        self.keys = make_keys(settings)
        self.durability = Durability(settings)
        self._tracing = tracing.for_settings(settings)
        self._chooser = Chooser()
        self._recorded: set[str] = set()
        self._parts: dict[Partition, tuple[Keys, Enqueuer]] = {}

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
            # One partition (the default) costs nothing more than before partitions existed.
            stream = (
                self.keys.stream(queue)
                if qs.partitions == 1
                else self._part(await self._partition(queue, key))[0].stream(queue)
            )
            entry_id = await self.redis.xadd(stream, fields)  # type: ignore[arg-type]  # redis-py's FieldT is invariant
            return published(entry_id)
        window = dedupe_window(key, dedupe_ms, qs.dedupe_ms)
        if not plain:
            due_args(delay_ms, at)  # a bad delay fails before anything is traced or sent
        part = self._part(await self._partition(queue, key))

        async def send(with_headers: Mapping[str, str] | None) -> Published:
            fields = to_fields(type_, payload, key=key, headers=with_headers)
            return await self._send(queue, part, fields, window=window, delay_ms=delay_ms, at=at)

        if self._tracing is not None:
            return await self._tracing.publish(part[0].stream(queue), headers, send)
        return await send(headers)

    async def _partition(self, queue: str, key: str | None) -> Partition:
        """The partition a message goes to (see streams.partitions); recorded once."""
        count = self.settings.queue(queue).partitions
        if count > 1 and queue not in self._recorded:
            await partitions.record(self.redis, self.keys, queue, count)
            self._recorded.add(queue)
        return self._chooser.choose(queue, count, key)

    def _part(self, partition: Partition) -> tuple[Keys, Enqueuer]:
        """The key builders and the enqueue script of one partition."""
        if partition not in self._parts:
            keys = self.keys.of(partition)
            self._parts[partition] = (keys, Enqueuer(self.redis, keys))
        return self._parts[partition]

    async def _send(
        self,
        queue: str,
        part: tuple[Keys, Enqueuer],
        fields: OutFields,
        *,
        window: int,
        delay_ms: int | None,
        at: datetime | None,
    ) -> Published:
        scripted = bool(window) or delay_ms is not None or at is not None
        keys, enqueuer = part

        async def write(pipe: Pipeline) -> None:
            if scripted:
                await enqueuer.enqueue(
                    queue, fields, delay_ms=delay_ms, at=at, window_ms=window, client=pipe
                )
            else:
                pipe.xadd(keys.stream(queue), fields)  # type: ignore[arg-type]  # see publish()

        if self.durability.required:
            (reply,) = await self.durability.confirm(self.redis, queue, write, atomic=False)
            return published(reply)
        if scripted:
            reply = await enqueuer.enqueue(
                queue, fields, delay_ms=delay_ms, at=at, window_ms=window
            )
            return published(reply)
        return published(await self.redis.xadd(keys.stream(queue), fields))  # type: ignore[arg-type]  # see publish()

    async def publish_many(self, queue: str, messages: Iterable[Outgoing]) -> list[str]:
        """Validate every message first, then append them in one round trip per partition.

        Nothing is published when any message fails validation. The messages of one
        partition are appended atomically (MULTI/EXEC); partitions are written concurrently
        (one after the other with durable publish, each batch confirmed by one WAIT:
        NotDurableError names its ids). With the queue's dedupe window
        (STREAMS_[QUEUE_]DEDUPE_MS), messages with a key are deduplicated as by publish(),
        and the ids are Published (a duplicate gets the first id).
        """
        window = self.settings.queue(queue).dedupe_ms
        outgoing = list(messages)
        batch: Sequence[dict[str, str | bytes]] = [
            to_fields(
                m.type, self.registry.encode(queue, m.type, m.data), key=m.key, headers=m.headers
            )
            for m in outgoing
        ]
        groups: dict[Partition, list[int]] = {}
        for n, m in enumerate(outgoing):
            groups.setdefault(await self._partition(queue, m.key), []).append(n)
        ids: list[str] = [""] * len(batch)

        async def append(partition: Partition, positions: list[int]) -> None:
            part = self._part(partition)
            written = await self._append(queue, part, [batch[n] for n in positions], window)
            for n, entry_id in zip(positions, written, strict=True):
                ids[n] = entry_id

        if len(groups) == 1 or self.durability.required:
            for partition, positions in groups.items():
                await append(partition, positions)
            return ids
        try:
            async with anyio.create_task_group() as tg:
                for partition, positions in groups.items():
                    tg.start_soon(append, partition, positions)
        except BaseExceptionGroup as group:  # the caller gets the error a single write raises
            raise group.exceptions[0] from None
        return ids

    async def _append(
        self,
        queue: str,
        part: tuple[Keys, Enqueuer],
        batch: Sequence[dict[str, str | bytes]],
        window: int,
    ) -> list[str]:
        """Append one partition's batch atomically (deduplicated, durable when configured)."""
        keys, enqueuer = part
        stream = keys.stream(queue)

        async def write(pipe: Pipeline) -> None:
            for fields in batch:
                if window and "key" in fields:
                    await enqueuer.enqueue(
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
