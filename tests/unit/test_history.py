"""Pure parts of streams.history: the per-queue counts a worker flushes, and point building."""

from __future__ import annotations

import pytest

from streams.history import Counts, _points


def test_take_returns_the_non_zero_counts_and_resets_them() -> None:
    counts = Counts(processed=3, dead_lettered=1)
    assert counts.take() == {"processed": 3, "dead_lettered": 1}
    assert counts.take() == {}


def test_counts_of_a_failed_flush_ride_on_the_next_one() -> None:
    counts = Counts(processed=3)
    taken = counts.take()
    counts.processed += 2  # handled while the flush was in flight
    counts.give_back(taken)  # the flush failed
    assert counts.take() == {"processed": 5}


@pytest.mark.parametrize(
    ("counter", "expected"),
    [(True, [3, 0, 4]), (False, [2, None, 4])],
)
def test_points_sum_counters_and_keep_the_highest_gauge(
    counter: bool, expected: list[int | None]
) -> None:
    values = {100: 1, 101: 2, 104: 4}  # minute -> value; minutes 102-103 have none
    assert _points(values, first=100, points=3, per_point=2, counter=counter) == expected
