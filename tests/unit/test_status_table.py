"""`streams status` prints a partitioned queue's partitions under its row."""

from __future__ import annotations

from streams.commands.status import table
from streams.inspect import PartitionState, QueueState


def _queue(**changes: object) -> QueueState:
    base: dict[str, object] = {
        "queue": "events",
        "stream": "{godo:events}:stream",
        "group": "godo",
        "exists": True,
        "group_exists": True,
        "length": 5,
        "lag": 2,
        "lag_estimated": False,
        "lag_source": "redis",
        "pending": 1,
        "depth": 3,
        "oldest_pending_age_s": 1.5,
        "time_lag_s": 0.0,
        "consumers": 2,
        "dead_letters": 1,
        "entries_added": 5,
    }
    return QueueState(**(base | changes))  # type: ignore[arg-type]


def _part(n: str, length: int) -> PartitionState:
    return PartitionState(
        partition=n,
        stream=f"{{godo:events:{n}}}:stream",
        length=length,
        lag=0,
        pending=0,
        depth=0,
        oldest_pending_age_s=0.0,
        time_lag_s=0.0,
        consumers=1,
        dead_letters=0,
    )


def test_a_partitioned_queue_gets_one_row_per_partition() -> None:
    rows = table([_queue(partitions=[_part("0", 2), _part("1", 3)])]).splitlines()

    assert [r.split()[0] for r in rows[1:]] == ["events", "events[0]", "events[1]"]
    assert rows[2].split()[1] == "2"


def test_an_unpartitioned_queue_has_one_row() -> None:
    assert len(table([_queue()]).splitlines()) == 2
