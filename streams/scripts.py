"""Server-side Lua scripts, loaded from streams/lua/ (each has a KEYS/ARGV header)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

from redis.asyncio import Redis

from streams.keys import Keys
from streams.messages import now_ms

Outcome = Literal["retry", "dead", "gone"]


@cache
def source(name: str) -> str:
    return resources.files("streams").joinpath("lua", f"{name}.lua").read_text()


class Scripts:
    """The worker's atomic operations on one client."""

    def __init__(self, redis: Redis, keys: Keys, group: str, consumer: str) -> None:
        self.keys = keys
        self.group = group
        self.consumer = consumer
        self._settle = redis.register_script(source("settle_failure"))
        self._renew = redis.register_script(source("renew"))
        self._forget = redis.register_script(source("forget_consumer"))

    async def settle_failure(
        self,
        queue: str,
        entry_id: str,
        *,
        max_attempts: int,
        retry_idle_ms: int,
        error: str,
        permanent: bool,
    ) -> Outcome:
        """Schedule a retry or dead-letter the entry, acknowledging it in the same script."""
        result = await self._settle(
            keys=[self.keys.stream(queue), self.keys.dead(queue)],
            args=[
                self.group,
                self.consumer,
                entry_id,
                max_attempts,
                max(retry_idle_ms, 0),
                error,
                now_ms(),
                int(permanent),
            ],
        )
        text = result.decode() if isinstance(result, bytes) else str(result)
        assert text in ("retry", "dead", "gone")  # noqa: S101  # the script returns only these
        return text  # type: ignore[return-value]  # narrowed by the check above

    async def release(self, queue: str, ids: list[str], idle_ms: int) -> int:
        """Make our entries claimable at once by others (idle = visibility timeout)."""
        if not ids:
            return 0
        return int(
            await self._renew(
                keys=[self.keys.stream(queue)], args=[self.group, self.consumer, idle_ms, *ids]
            )
        )

    async def forget_consumer(self, queue: str) -> bool:
        return bool(
            await self._forget(keys=[self.keys.stream(queue)], args=[self.group, self.consumer])
        )
