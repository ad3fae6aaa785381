"""Publishing messages: one at a time, or many in one pipelined round trip."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import msgspec
from redis.asyncio import Redis

from streams.client import make_keys
from streams.config import Settings
from streams.messages import to_fields
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
        """
        self.settings.queue(queue)
        fields = to_fields(
            type_, self.registry.encode(queue, type_, data), key=key, headers=headers
        )
        entry_id = await self.redis.xadd(self.keys.stream(queue), fields)  # type: ignore[arg-type]  # redis-py's FieldT is invariant
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    async def publish_many(self, queue: str, messages: Iterable[Outgoing]) -> list[str]:
        """Validate every message first, then append all of them atomically in one round trip.

        Nothing is published when any message fails validation.
        """
        self.settings.queue(queue)
        batch: Sequence[dict[str, str | bytes]] = [
            to_fields(
                m.type, self.registry.encode(queue, m.type, m.data), key=m.key, headers=m.headers
            )
            for m in messages
        ]
        stream = self.keys.stream(queue)
        async with self.redis.pipeline(transaction=True) as pipe:
            for fields in batch:
                pipe.xadd(stream, fields)  # type: ignore[arg-type]  # see publish()
            ids = await pipe.execute()
        return [i.decode() if isinstance(i, bytes) else str(i) for i in ids]
