"""Every key of a queue hashes to one Redis Cluster slot, so scripts may touch them together."""

from __future__ import annotations

import pytest

from streams.keys import Keys


def crc16_xmodem(data: bytes) -> int:
    """CRC16-CCITT (XModem), the checksum of the Redis Cluster spec (poly 0x1021, init 0)."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def cluster_slot(key: str) -> int:
    """HASH_SLOT per the cluster spec: hash only the first non-empty {...} tag if there is one."""
    raw = key.encode()
    start = raw.find(b"{")
    if start != -1:
        end = raw.find(b"}", start + 1)
        if end > start + 1:
            raw = raw[start + 1 : end]
    return crc16_xmodem(raw) % 16384


def test_crc16_matches_the_cluster_spec_test_vector() -> None:
    # The spec's reference: CRC16 of "123456789" is 0x31C3.
    assert crc16_xmodem(b"123456789") == 0x31C3
    assert cluster_slot("foo") == 12182  # CLUSTER KEYSLOT foo
    assert cluster_slot("{user1000}.following") == cluster_slot("{user1000}.followers")


@pytest.mark.parametrize("prefix", ["godo", "staging", "t0123456789ab", "a.b-c_d"])
@pytest.mark.parametrize("queue", ["default", "events", "notifications", "ml", "x.y-z"])
def test_all_keys_of_a_queue_share_one_slot(prefix: str, queue: str) -> None:
    keys = Keys(prefix)

    queue_keys = (
        keys.stream(queue),
        keys.dead(queue),
        keys.stats(queue),
        keys.scheduled(queue),
        keys.scheduled_messages(queue),
        keys.dedupe(queue, "order-1"),
        keys.paused(queue),
        keys.rate_limit(queue),
    )
    slots = {cluster_slot(k) for k in queue_keys}

    assert len(slots) == 1


def test_queues_get_their_own_tags() -> None:
    keys = Keys("godo")
    tags = {keys.stream(q).split("}")[0] for q in ("default", "events", "notifications", "ml")}

    assert len(tags) == 4


def test_keys_are_distinct_and_under_the_prefix() -> None:
    keys = Keys("godo")
    built = [
        keys.stream("ml"),
        keys.dead("ml"),
        keys.stats("ml"),
        keys.scheduled("ml"),
        keys.scheduled_messages("ml"),
        keys.dedupe("ml", "k"),
        keys.paused("ml"),
        keys.rate_limit("ml"),
        keys.workers(),
        keys.worker("w1"),
        keys.scheduler_leader(),
        keys.scheduler_tick("digest", 3),
        keys.scheduler_last("digest"),
        keys.cache("geo", "k"),
        keys.cache_stats(),
        keys.data("events", "42"),
    ]

    assert len(set(built)) == len(built)
    assert all(k.startswith(("godo:", "{godo:")) for k in built)


def test_prefixes_do_not_collide() -> None:
    assert Keys("a").stream("b") != Keys("a:b").stream("")
    assert Keys("godo").stream("ml") != Keys("godo2").stream("ml")


def test_on_a_cluster_the_scheduler_keys_and_a_queue_stream_share_no_assumption() -> None:
    keys = Keys("godo", cluster=True)
    scheduler = (keys.scheduler_leader(), keys.scheduler_tick("j", 3), keys.scheduler_last("j"))

    assert len({cluster_slot(k) for k in scheduler}) == 1
    assert keys.one_slot(*scheduler)
    assert not keys.one_slot(keys.scheduler_leader(), keys.stream("events"))


def test_on_a_cluster_all_application_data_shares_one_slot() -> None:
    keys = Keys("godo", cluster=True)
    data = [keys.data("event", "x"), keys.data("tag", "jazz"), keys.data("day", "2030-01-01")]

    assert len({cluster_slot(k) for k in data}) == 1


def test_on_one_server_keys_keep_their_names_and_anything_goes_together() -> None:
    keys = Keys("godo")

    assert keys.data("event", "x") == "godo:data:event:x"
    assert keys.scheduler_leader() == "godo:scheduler:leader"
    assert keys.one_slot(keys.scheduler_leader(), keys.stream("events"))


@pytest.mark.parametrize("partition", [0, 1, 7])
def test_each_partition_has_its_own_slot_for_all_its_keys(partition: int) -> None:
    part = Keys("godo").of(partition)
    names = (part.stream("events"), part.dead("events"), part.stats("events"))

    assert names[0] == f"{{godo:events:{partition}}}:stream"
    assert len({cluster_slot(k) for k in names}) == 1


def test_the_unnumbered_partition_is_the_queue_as_before() -> None:
    keys = Keys("godo")

    assert keys.of(None).stream("events") == keys.stream("events") == "{godo:events}:stream"
    assert keys.of(3).partitions("events") == keys.partitions("events")
