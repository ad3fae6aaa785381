"""Server-side Lua scripts, loaded from streams/lua/ (each has a KEYS/ARGV header)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

from redis.asyncio import Redis

from streams.keys import Keys
from streams.messages import now_ms

Outcome = Literal["retry", "dead", "gone"]

# Lua's unpack() fails near 8,000 values, so settle_failure.lua can't copy bigger entries.
LUA_MAX_VALUES: Final = 7_000


@cache
def source(name: str) -> str:
    return resources.files("streams").joinpath("lua", f"{name}.lua").read_text()


class Scripts:
    """The worker's atomic operations on one client."""

    def __init__(self, redis: Redis, keys: Keys, group: str, consumer: str) -> None:
        self.keys = keys
        self.group = group
        self.consumer = consumer
        self._redis = redis
        self._settle = redis.register_script(source("settle_failure"))
        self._release = redis.register_script(source("release"))
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
        fields: Mapping[bytes, bytes] | None = None,
        attempt: int = 1,
    ) -> Outcome:
        """Schedule a retry or dead-letter the entry, acknowledging it in the same step.

        fields (the entry as read) are needed only for entries too big for the script to copy.
        """
        keys = [self.keys.stream(queue), self.keys.dead(queue)]
        now = now_ms()
        args: list[Any] = [self.group, self.consumer, entry_id, max_attempts, max(retry_idle_ms, 0)]
        if fields is not None and 2 * len(fields) + 8 > LUA_MAX_VALUES:
            dead = {b"dead_id": entry_id, b"dead_error": error, b"dead_attempts": str(attempt)}
            dead[b"dead_at"] = str(now)
            result = await self._settle_big(keys, [*args, int(permanent), now], fields, dead)
        else:
            result = await self._settle(keys=keys, args=[*args, error, now, int(permanent)])
        text = result.decode() if isinstance(result, bytes) else str(result)
        assert text in ("retry", "dead", "gone")  # noqa: S101  # the scripts return only these
        return text  # type: ignore[return-value]  # narrowed by the check above

    async def _settle_big(
        self,
        keys: list[str],
        args: list[Any],
        fields: Mapping[bytes, bytes],
        dead: dict[bytes, str],
    ) -> Any:
        """Add the dead letter from here and let settle_staged.lua keep or drop it, atomically."""
        copy = {k: v for k, v in fields.items() if not k.startswith(b"dead_")} | dead
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(keys[1], copy)  # type: ignore[arg-type]  # bytes field names are fine
            # EVAL, not EVALSHA: a cluster pipeline does not load missing scripts (rare path).
            pipe.eval(source("settle_staged"), len(keys), *keys, *args)
            _, result = await pipe.execute()
        return result

    async def release(
        self, queue: str, ids: list[str], idle_ms: int, *, unstarted: list[str] | None = None
    ) -> int:
        """Make our entries claimable at once by others (idle = visibility timeout).

        The unstarted ones get their delivery count back: handing back is not an attempt.
        """
        unstarted = unstarted or []
        if not ids and not unstarted:
            return 0
        args: list[Any] = [self.group, self.consumer, idle_ms, len(unstarted), *unstarted, *ids]
        return int(await self._release(keys=[self.keys.stream(queue)], args=args))

    async def forget_consumer(self, queue: str) -> bool:
        return bool(
            await self._forget(keys=[self.keys.stream(queue)], args=[self.group, self.consumer])
        )
