"""Publishing messages: one at a time, or many in one pipelined round trip."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import anyio
import msgspec
from redis.asyncio import Redis

from streams import partitions
from streams.client import make_keys
from streams.config import Settings
from streams.durability import Durability
from streams.messages import to_fields
from streams.partitions import Chooser
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
        self._chooser = Chooser()
        self._recorded: set[str] = set()

    async def publish(
        self,
        queue: str,
        type_: str,
        data: object,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """Validate and append one message; return its entry id.

        Raises:
            UnknownQueueError: the queue is not configured.
            ValidationError: the type is unknown or the payload does not match its schema.
            NotDurableError: STREAMS_PUBLISH_MIN_REPLICAS replicas did not confirm it in time.
        """
        count = self.settings.queue(queue).partitions
        fields = to_fields(
            type_, self.registry.encode(queue, type_, data), key=key, headers=headers
        )
        # One partition (the default) costs nothing more than before partitions existed.
        stream = self.keys.stream(queue) if count == 1 else await self._stream(queue, key)
        if self.durability.required:
            return (
                await self.durability.append(self.redis, queue, stream, [fields], atomic=False)
            )[0]
        entry_id = await self.redis.xadd(stream, fields)  # type: ignore[arg-type]  # redis-py's FieldT is invariant
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    async def _stream(self, queue: str, key: str | None) -> str:
        """The stream of the partition a message goes to (see streams.partitions)."""
        count = self.settings.queue(queue).partitions
        if count > 1 and queue not in self._recorded:
            await partitions.record(self.redis, self.keys, queue, count)
            self._recorded.add(queue)
        return self.keys.of(self._chooser.choose(queue, count, key)).stream(queue)

    async def publish_many(self, queue: str, messages: Iterable[Outgoing]) -> list[str]:
        """Validate every message first, then append them in one round trip per partition.

        Nothing is published when any message fails validation. The messages of one
        partition are appended atomically (MULTI/EXEC); partitions are written concurrently.
        With durable publish each partition's batch is confirmed by one WAIT (NotDurableError
        names its ids).
        """
        self.settings.queue(queue)
        batch: Sequence[tuple[dict[str, str | bytes], str | None]] = [
            (
                to_fields(
                    m.type,
                    self.registry.encode(queue, m.type, m.data),
                    key=m.key,
                    headers=m.headers,
                ),
                m.key,
            )
            for m in messages
        ]
        groups: dict[str, list[int]] = {}
        for n, (_, key) in enumerate(batch):
            groups.setdefault(await self._stream(queue, key), []).append(n)
        ids: list[str] = [""] * len(batch)

        async def append(stream: str, positions: list[int]) -> None:
            for n, entry_id in zip(
                positions,
                await self._append(queue, stream, [batch[n][0] for n in positions]),
                strict=True,
            ):
                ids[n] = entry_id

        if len(groups) == 1 or self.durability.required:
            # One after the other when durable, so a NotDurableError reaches the caller as is.
            for stream, positions in groups.items():
                await append(stream, positions)
            return ids
        async with anyio.create_task_group() as tg:
            for stream, positions in groups.items():
                tg.start_soon(append, stream, positions)
        return ids

    async def _append(
        self, queue: str, stream: str, entries: list[dict[str, str | bytes]]
    ) -> list[str]:
        """Append entries to one stream atomically (and durably when configured)."""
        if self.durability.required:
            return await self.durability.append(self.redis, queue, stream, entries, atomic=True)
        async with self.redis.pipeline(transaction=True) as pipe:
            for fields in entries:
                pipe.xadd(stream, fields)  # type: ignore[arg-type]  # see publish()
            replies = await pipe.execute()
        return [i.decode() if isinstance(i, bytes) else str(i) for i in replies]
