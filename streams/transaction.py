"""Optimistic transactions (WATCH, read, MULTI, write, EXEC), retried a bounded number of times.

The one retry loop for read-then-write updates that must not interleave with another writer:
if a watched key changes between the read and EXEC, Redis discards the transaction and it runs
again from the read; after `attempts` tries it raises TransactionConflictError.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Final, TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from streams.errors import TransactionConflictError

log = logging.getLogger(__name__)

DEFAULT_ATTEMPTS: Final = 10

R = TypeVar("R")
T = TypeVar("T")


async def transaction(
    redis: Redis,
    watch: Sequence[str | bytes],
    read: Callable[[Pipeline], Awaitable[R]],
    write: Callable[[Pipeline, R], T],
    *,
    what: str,
    attempts: int = DEFAULT_ATTEMPTS,
) -> T:
    """WATCH watch, read, then queue writes in MULTI and EXEC; return what write returned.

    read gets the pipeline in immediate mode (commands run at once, under WATCH); write gets
    read's result and queues commands on the pipeline (queue none to write nothing).

    Raises:
        TransactionConflictError: a watched key changed before EXEC on every one of attempts tries.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    async with redis.pipeline(transaction=True) as pipe:
        for attempt in range(1, attempts + 1):
            try:
                await pipe.watch(*watch)
                seen = await read(pipe)
                pipe.multi()  # type: ignore[no-untyped-call]  # untyped in redis-py
                result = write(pipe, seen)
                await pipe.execute()
            except WatchError:
                # execute() has reset the pipeline (UNWATCH, immediate mode again).
                log.debug("%s: watched keys changed (try %d of %d)", what, attempt, attempts)
                continue
            return result
    raise TransactionConflictError(what, attempts)
