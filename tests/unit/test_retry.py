"""Retry policy: exponential backoff with equal jitter, capped; when to dead-letter."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from streams.config import QueueSettings
from streams.retry import backoff_ms, should_dead_letter

LOW = 0.0
HIGH = 0.9999999999


def const(value: float) -> Callable[[], float]:
    """An injected rand() that always returns value."""
    return lambda: value


@pytest.mark.parametrize(
    ("attempt", "base_ms", "cap_ms", "rand", "expected"),
    [
        # Lowest jitter: half the exponential delay.
        (1, 1000, 30_000, LOW, 500),
        (2, 1000, 30_000, LOW, 1000),
        (3, 1000, 30_000, LOW, 2000),
        (5, 1000, 30_000, LOW, 8000),
        # Highest jitter: just under the full exponential delay.
        (1, 1000, 30_000, HIGH, 999),
        (2, 1000, 30_000, HIGH, 1999),
        (4, 1000, 30_000, HIGH, 7999),
        (1, 1000, 30_000, 0.5, 750),
        # Never more than the cap, however many attempts; at the cap, no more jitter.
        (5, 1000, 30_000, HIGH, 15_999),
        (6, 1000, 30_000, LOW, 16_000),
        (6, 1000, 30_000, HIGH, 30_000),
        (7, 1000, 30_000, LOW, 30_000),
        (50, 1000, 30_000, HIGH, 30_000),
        (10_000, 1000, 30_000, LOW, 30_000),
        (1, 50, 200, LOW, 25),
        (3, 50, 200, HIGH, 199),
        # Attempt 0 (defensive) behaves like attempt 1.
        (0, 1000, 30_000, LOW, 500),
    ],
)
def test_backoff_table(attempt: int, base_ms: int, cap_ms: int, rand: float, expected: int) -> None:
    assert backoff_ms(attempt, base_ms, cap_ms, rand=const(rand)) == expected


@pytest.mark.parametrize(("base_ms", "cap_ms"), [(1000, 30_000), (50, 200), (7, 7), (100, 150)])
def test_delay_stays_within_jitter_bounds_and_cap(base_ms: int, cap_ms: int) -> None:
    for attempt in range(1, 40):
        exponential = min(cap_ms, base_ms * 2 ** (attempt - 1))
        low = backoff_ms(attempt, base_ms, cap_ms, rand=const(LOW))
        high = backoff_ms(attempt, base_ms, cap_ms, rand=const(HIGH))
        assert exponential // 2 <= low <= high <= cap_ms
        assert high <= exponential


@pytest.mark.parametrize(("base_ms", "cap_ms"), [(1000, 30_000), (50, 200), (100, 150), (3, 1000)])
def test_gaps_never_shrink_whatever_the_jitter(base_ms: int, cap_ms: int) -> None:
    # Worst case: the highest jitter on one attempt, the lowest on the next.
    for attempt, (before, after) in itertools.product(
        range(1, 40), [(HIGH, LOW), (LOW, LOW), (HIGH, HIGH), (LOW, HIGH)]
    ):
        previous = backoff_ms(attempt, base_ms, cap_ms, rand=const(before))
        following = backoff_ms(attempt + 1, base_ms, cap_ms, rand=const(after))
        assert following >= previous, (attempt, before, after)


def test_default_rand_gives_jittered_delays_in_bounds() -> None:
    delays = {backoff_ms(3, 1000, 30_000) for _ in range(200)}

    assert all(2000 <= d < 4000 for d in delays)
    assert len(delays) > 1


@pytest.mark.parametrize(
    ("attempt", "max_attempts", "expected"),
    [(1, 5, False), (4, 5, False), (5, 5, True), (6, 5, True), (1, 1, True), (2, 3, False)],
)
def test_should_dead_letter_after_max_attempts(
    attempt: int, max_attempts: int, expected: bool
) -> None:
    settings = QueueSettings(max_attempts=max_attempts)

    assert should_dead_letter(attempt, settings) is expected
