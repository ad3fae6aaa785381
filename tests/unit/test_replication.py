"""The pure part of /health's high-availability view: INFO in, details and reasons out."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from api.replication import ha_reasons, persistence, primary_missing, replication
from streams.config import Secret, Settings

SETTINGS = Settings(redis_url=Secret("redis://localhost:6379/0"))
PRIMARY: dict[str, Any] = {
    "role": "master",
    "connected_slaves": 1,
    "master_repl_offset": 1_000,
    "slave0": {"ip": "10.0.0.2", "port": 6379, "state": "online", "offset": 900, "lag": 1},
    "aof_enabled": 0,
    "rdb_last_bgsave_status": "ok",
    "aof_last_write_status": "ok",
}


def test_a_replica_lag_is_the_offset_difference() -> None:
    repl = replication(PRIMARY)

    assert repl.connected_replicas == 1
    assert repl.replicas[0].address == "10.0.0.2:6379"
    assert repl.replicas[0].lag_bytes == 100
    assert repl.replicas[0].last_ack_s == 1
    assert primary_missing(repl) is None


@pytest.mark.parametrize(
    ("info", "save", "settings", "reason"),
    [
        ({}, "", {}, "a restart loses every queued message"),
        ({"rdb_last_bgsave_status": "err"}, "3600 1", {}, "snapshot or AOF write failed"),
        ({}, "3600 1", {"publish_fsync": True}, "STREAMS_PUBLISH_FSYNC is set but AOF is off"),
        ({}, "3600 1", {"publish_min_replicas": 2}, "is 2 but 1 replicas are connected"),
    ],
)
def test_each_risk_has_its_reason(
    info: dict[str, Any], save: str, settings: dict[str, Any], reason: str
) -> None:
    merged = {**PRIMARY, **info}
    reasons = ha_reasons(
        replication(merged),
        persistence(merged, save),
        msgspec.structs.replace(SETTINGS, **settings),
    )

    assert [r for r in reasons if reason in r]
    assert len(reasons) == 1


def test_unknown_snapshot_schedule_or_persistence_is_not_a_reason() -> None:
    assert ha_reasons(replication(PRIMARY), persistence(PRIMARY, None), SETTINGS) == []
    assert persistence({}, "") is None


def test_a_replica_is_no_primary() -> None:
    reason = primary_missing(replication({"role": "slave", "master_link_status": "down"}))

    assert reason is not None
    assert "read-only slave (link to its primary: down)" in reason
