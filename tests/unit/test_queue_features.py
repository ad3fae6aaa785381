"""Pure parsing and policy of delayed messages, deduplication and rate limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from streams.config import from_env
from streams.delayed import due_args, iso, parse_at, parse_duration
from streams.enqueue import Published, dedupe_window
from streams.errors import ConfigError, PublishError
from streams.ratelimit import Rate, parse_rate


@pytest.mark.parametrize(
    ("text", "ms"),
    [("250ms", 250), ("30s", 30_000), ("5m", 300_000), ("1h", 3_600_000), ("2d", 172_800_000)],
)
def test_durations(text: str, ms: int) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["", "30", "1.5s", "-1s", "5 minutes", "1w"])
def test_bad_durations_name_the_option(text: str) -> None:
    with pytest.raises(PublishError, match="--delay"):
        parse_duration(text)


def test_times_need_a_zone() -> None:
    assert parse_at("2026-12-01T20:00:00Z") == datetime(2026, 12, 1, 20, tzinfo=UTC)
    with pytest.raises(PublishError, match="no time zone"):
        parse_at("2026-12-01T20:00:00")
    with pytest.raises(PublishError, match="ISO 8601"):
        parse_at("tomorrow")


def test_due_args() -> None:
    at = datetime(2026, 12, 1, 21, tzinfo=timezone(timedelta(hours=1)))
    assert due_args(None, None) is None
    assert due_args(5_000, None) == ("", 5_000)
    assert due_args(None, at) == (str(int(at.timestamp() * 1000)), 0)
    with pytest.raises(PublishError, match="not both"):
        due_args(1, at)
    with pytest.raises(PublishError, match="timezone-aware"):
        due_args(None, datetime(2026, 12, 1))  # noqa: DTZ001  # the mistake under test
    with pytest.raises(PublishError, match="between"):
        due_args(-1, None)


def test_iso_is_utc_with_milliseconds() -> None:
    assert iso(1_796_155_200_000) == "2026-12-01T20:00:00.000Z"


@pytest.mark.parametrize(
    ("key", "call", "queue", "window"),
    [
        (None, None, 0, 0),
        (None, None, 500, 0),  # the queue's window applies to keyed messages only
        ("k", None, 500, 500),
        ("k", 0, 500, 0),  # a call may turn it off
        ("k", 100, 0, 100),
    ],
)
def test_dedupe_window(key: str | None, call: int | None, queue: int, window: int) -> None:
    assert dedupe_window(key, call, queue) == window


def test_dedupe_window_refuses_no_key_or_a_negative_window() -> None:
    with pytest.raises(PublishError, match="needs a key"):
        dedupe_window(None, 100, 0)
    with pytest.raises(PublishError, match="negative"):
        dedupe_window("k", -1, 0)


def test_published_is_the_id_string() -> None:
    published = Published.of("1-0", duplicate=True, due_ms=5)

    assert published == "1-0"
    assert (published.duplicate, published.scheduled) == (True, True)
    assert not Published("1-0").scheduled


@pytest.mark.parametrize(
    ("text", "rate", "burst"),
    [
        ("50/s", Rate(50, 1_000), 5),
        ("1000/m", Rate(1_000, 60_000), 100),
        ("1/h", Rate(1, 3_600_000), 1),
    ],
)
def test_rates(text: str, rate: Rate, burst: int) -> None:
    assert parse_rate(text) == rate
    assert rate.burst == burst
    assert parse_rate("") is None


@pytest.mark.parametrize("text", ["50", "50/d", "0/s", "fast", "5/ s"])
def test_bad_rate_limits_name_the_variable(text: str) -> None:
    with pytest.raises(ConfigError, match="STREAMS_ML_RATE_LIMIT"):
        from_env({"REDIS_URL": "redis://localhost:1", "STREAMS_ML_RATE_LIMIT": text})


def test_dedupe_and_rate_limit_are_queue_settings() -> None:
    settings = from_env(
        {
            "REDIS_URL": "redis://localhost:1",
            "STREAMS_DEDUPE_MS": "1000",
            "STREAMS_NOTIFICATIONS_RATE_LIMIT": "1000/m",
        }
    )

    assert settings.queues["ml"].dedupe_ms == 1_000
    assert settings.queues["notifications"].rate_limit == "1000/m"
    assert settings.queues["ml"].rate_limit == ""
