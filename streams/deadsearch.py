"""Search a queue's dead letters: newest or oldest first, by type and by a substring of the error."""

from __future__ import annotations

from typing import Final

from redis.asyncio import Redis

from streams.deadletter import DeadLetter, parse
from streams.keys import Keys

PAGE: Final = 500
SCAN_LIMIT: Final = 10_000


async def search_dead(
    redis: Redis,
    keys: Keys,
    queue: str,
    *,
    newest_first: bool = False,
    type_: str | None = None,
    error: str | None = None,
    limit: int = 100,
    scan_limit: int = SCAN_LIMIT,
) -> tuple[list[DeadLetter], int]:
    """Return up to limit matching dead letters and how many entries were read to find them.

    Reads at most scan_limit entries (in pages), so a search of a huge dead-letter stream
    stays bounded; the error match is case-insensitive.
    """
    needle = error.lower() if error else None
    found: list[DeadLetter] = []
    scanned, cursor = 0, None
    while len(found) < limit and scanned < scan_limit:
        page = await _page(
            redis, keys.dead(queue), cursor, newest_first, min(PAGE, scan_limit - scanned)
        )
        scanned += len(page)
        for entry_id, fields in page:
            letter = parse(entry_id, fields)
            if _matches(letter, type_, needle):
                found.append(letter)
                if len(found) == limit:
                    break
        if len(page) < PAGE:
            break
        cursor = page[-1][0]
    return found, scanned


def _matches(letter: DeadLetter, type_: str | None, needle: str | None) -> bool:
    if type_ and letter.type != type_:
        return False
    return not needle or needle in letter.error.lower()


async def _page(
    redis: Redis, key: str, after: bytes | None, newest_first: bool, count: int
) -> list[tuple[bytes, dict[bytes, bytes]]]:
    if newest_first:
        top = "+" if after is None else f"({after.decode()}"
        return await redis.xrevrange(key, max=top, min="-", count=count)  # type: ignore[return-value]  # loosely typed reply
    bottom = "-" if after is None else f"({after.decode()}"
    return await redis.xrange(key, min=bottom, max="+", count=count)  # type: ignore[return-value]  # loosely typed reply
