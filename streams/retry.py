"""Retry policy: exponential backoff with jitter, capped. Pure, no I/O."""

from __future__ import annotations

import random
from collections.abc import Callable

from streams.config import QueueSettings


def backoff_ms(
    attempt: int, base_ms: int, cap_ms: int, rand: Callable[[], float] = random.random
) -> int:
    """Delay before attempt + 1, after `attempt` failed deliveries (attempt >= 1).

    "Equal jitter": half the exponential delay is fixed and half random, so successive
    gaps never shrink while retries of many entries still spread out. The cap applies after
    the jitter: jittering an already capped delay would let a gap shrink below the last one.
    """
    delay = base_ms << min(max(attempt - 1, 0), 32)
    return min(cap_ms, delay // 2 + int(rand() * (delay - delay // 2)))


def should_dead_letter(attempt: int, settings: QueueSettings) -> bool:
    """True once the entry has been delivered max_attempts times."""
    return attempt >= settings.max_attempts
