"""Publishing with a due time or a dedupe window: one Lua script, so each step is atomic.

Without either the producer keeps its plain XADD; this path costs one EVALSHA instead.
Deduplication stores the first id under ``Keys.dedupe(queue, key)`` for the window (SET PX);
a second publish with that key inside the window adds nothing and gets the first id back.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript

from streams.delayed import due_args
from streams.errors import PublishError
from streams.keys import Keys
from streams.messages import OutFields
from streams.scripts import source


class Published(str):
    """An entry id (a plain str), with how it was published.

    duplicate: the key was published within the dedupe window; this is the first message's id.
    due_ms: when a scheduled message falls due (ms since the epoch); None when it went straight
    to the stream. A scheduled message's id is not a stream id until it is due.
    """

    # Class-level defaults: a plain publish builds it with str's own constructor (hot path).
    duplicate: bool = False
    due_ms: int | None = None

    @classmethod
    def of(cls, value: str, *, duplicate: bool = False, due_ms: int | None = None) -> Published:
        self = cls(value)
        if duplicate:
            self.duplicate = True
        if due_ms is not None:
            self.due_ms = due_ms
        return self

    @property
    def scheduled(self) -> bool:
        return self.due_ms is not None


def dedupe_window(key: str | None, dedupe_ms: int | None, queue_default_ms: int) -> int:
    """The window for one publish: the call's, else the queue's; 0 (off) without a key."""
    if dedupe_ms is not None and dedupe_ms < 0:
        raise PublishError("dedupe_ms must not be negative")
    window = queue_default_ms if dedupe_ms is None else dedupe_ms
    if key is None:
        if dedupe_ms:
            raise PublishError("dedupe_ms needs a key: messages are deduplicated by their key")
        return 0
    return window


class Enqueuer:
    """Runs enqueue.lua for one client; registered on first use only."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._script: AsyncScript | None = None

    async def enqueue(
        self,
        queue: str,
        fields: OutFields,
        *,
        delay_ms: int | None,
        at: datetime | None,
        window_ms: int,
        client: Pipeline | None = None,
    ) -> Any:
        """Run the script (queue it, with a pipeline client); published() reads its reply."""
        due, delay = due_args(delay_ms, at) or ("", 0)
        keys = [
            self._keys.stream(queue),
            self._keys.scheduled(queue),
            self._keys.scheduled_messages(queue),
        ]
        key = fields.get("key")
        if window_ms and key is not None:
            keys.append(self._keys.dedupe(queue, _text(key)))
        flat: list[Any] = [v for pair in fields.items() for v in pair]
        if self._script is None:
            self._script = self._redis.register_script(source("enqueue"))
        args = [due, delay, uuid.uuid4().hex, window_ms, *flat]
        return await self._script(keys=keys, args=args, client=client)


def published(reply: Any) -> Published:
    """The id from an XADD reply, or from enqueue.lua's [id, duplicate, due ms]."""
    if not isinstance(reply, list):
        return Published(_text(reply))
    entry_id, duplicate, due_ms = reply
    return Published.of(
        _text(entry_id), duplicate=bool(duplicate), due_ms=None if int(due_ms) < 0 else int(due_ms)
    )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
