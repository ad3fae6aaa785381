"""Partition choice and the cluster health verdict (pure logic)."""

from __future__ import annotations

from collections import Counter

import pytest

from streams.cluster_client import ClusterState
from streams.partitions import Chooser, partition_of


@pytest.mark.parametrize(("key", "count"), [("user-42", 4), ("a", 3), ("{tag}x", 6), ("é", 2)])
def test_a_keyed_message_always_gets_the_same_partition(key: str, count: int) -> None:
    chooser = Chooser()

    chosen = {chooser.choose("q", count, key) for _ in range(10)}

    assert chosen == {partition_of(key, count)}


def test_unkeyed_messages_are_spread_evenly_per_queue() -> None:
    chooser = Chooser()

    spread = Counter(chooser.choose("q", 3, None) for _ in range(300))

    assert spread == {0: 100, 1: 100, 2: 100}


def test_one_partition_means_the_unnumbered_stream() -> None:
    assert Chooser().choose("q", 1, "k") is None


def _state(**changes: object) -> ClusterState:
    base: dict[str, object] = {
        "state": "ok",
        "known_nodes": 6,
        "masters": 3,
        "slots_ok": 16384,
        "slots_pfail": 0,
        "slots_fail": 0,
        "failing_nodes": [],
    }
    return ClusterState(**(base | changes))  # type: ignore[arg-type]


def test_a_healthy_cluster_has_no_problems() -> None:
    assert _state().problems == []


def test_a_failing_node_and_uncovered_slots_are_reasons() -> None:
    problems = _state(state="fail", slots_ok=10923, failing_nodes=["127.0.0.1:7001"]).problems

    assert problems == [
        "redis cluster_state is fail",
        "redis cluster nodes failing: 127.0.0.1:7001",
        "redis cluster: 5461 of 16384 hash slots not served",
    ]
