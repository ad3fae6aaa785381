"""Settings of the workers' housekeeping: dead-letter retention and cap, idle consumers."""

from __future__ import annotations

import pytest

from streams.config import MAX_DEAD_MAX_LEN, MAX_RETENTION_MS, from_env
from streams.errors import ConfigError

URL = "redis://redis.internal:6379/0"
DAY_MS = 24 * 3600 * 1000


def test_dead_letters_are_kept_seven_days_and_capped_at_100_000_by_default() -> None:
    queue = from_env({"REDIS_URL": URL}).queue("events")

    assert (queue.dead_retention_ms, queue.dead_max_len) == (7 * DAY_MS, 100_000)


def test_dead_letter_settings_apply_to_all_queues_and_per_queue_wins() -> None:
    settings = from_env(
        {
            "REDIS_URL": URL,
            "STREAMS_DEAD_MAX_LEN": "500",
            "STREAMS_ML_DEAD_MAX_LEN": "10",
            "STREAMS_EVENTS_DEAD_RETENTION_MS": "60000",
        }
    )

    assert settings.queue("ml").dead_max_len == 10
    assert settings.queue("events").dead_max_len == 500
    assert settings.queue("events").dead_retention_ms == 60_000
    assert settings.queue("ml").dead_retention_ms == 7 * DAY_MS


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("STREAMS_DEAD_MAX_LEN", "0", ">= 1"),
        ("STREAMS_ML_DEAD_MAX_LEN", str(MAX_DEAD_MAX_LEN + 1), f"<= {MAX_DEAD_MAX_LEN}"),
        ("STREAMS_DEAD_RETENTION_MS", "-5", ">= 1"),
        ("STREAMS_EVENTS_DEAD_RETENTION_MS", str(MAX_RETENTION_MS + 1), f"<= {MAX_RETENTION_MS}"),
        ("STREAMS_DEAD_RETENTION_MS", "a week", "Expected `int`"),
    ],
)
def test_a_bad_dead_letter_setting_is_one_line_naming_the_variable(
    variable: str, value: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        from_env({"REDIS_URL": URL, variable: value})

    assert caught.value.variable == variable
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_idle_consumers_are_removed_after_ten_minutes_by_default() -> None:
    assert from_env({"REDIS_URL": URL}).queue("ml").consumer_idle_ms == 600_000


@pytest.mark.parametrize(
    ("value", "fragment"), [("999", ">= 1000"), (str(MAX_RETENTION_MS + 1), "<= ")]
)
def test_a_bad_consumer_idle_time_names_the_variable(value: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        from_env({"REDIS_URL": URL, "STREAMS_ML_CONSUMER_IDLE_MS": value})

    assert caught.value.variable == "STREAMS_ML_CONSUMER_IDLE_MS"
    assert fragment in str(caught.value)
