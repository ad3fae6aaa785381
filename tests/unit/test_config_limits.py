"""Numeric settings have upper bounds where a huge value would break the process."""

from __future__ import annotations

import pytest

from consumers.settings import from_env as app_from_env
from streams.config import MAX_BLOCK_MS, QueueSettings, Secret, Settings, from_env
from streams.errors import ConfigError
from streams.scheduler import Job, Publish, SchedulerConfig

URL = "redis://redis.internal:6379/0"
HUGE = str(10**30)


def test_block_ms_must_end_before_the_socket_timeout() -> None:
    with pytest.raises(ConfigError) as caught:
        from_env({"REDIS_URL": URL, "STREAMS_BLOCK_MS": "5000"})

    assert str(caught.value) == (
        "STREAMS_BLOCK_MS: 5000 must be at most 4000: a blocking read must end well before "
        "the client's 5 s socket timeout"
    )


def test_block_ms_at_the_maximum_is_accepted() -> None:
    settings = from_env({"REDIS_URL": URL, "STREAMS_BLOCK_MS": str(MAX_BLOCK_MS)})

    assert settings.block_ms == MAX_BLOCK_MS


def test_settings_built_in_code_check_block_ms_too() -> None:
    with pytest.raises(ConfigError, match="STREAMS_BLOCK_MS"):
        Settings(redis_url=Secret(URL), block_ms=10_000)


@pytest.mark.parametrize(
    ("variable", "maximum"),
    [
        ("STREAMS_CONCURRENCY", "10000"),
        ("STREAMS_ML_CONCURRENCY", "10000"),
        ("STREAMS_BATCH_SIZE", "10000"),
        ("STREAMS_VISIBILITY_TIMEOUT_MS", "86400000"),
        ("STREAMS_HEARTBEAT_INTERVAL_MS", "3600000"),
        ("STREAMS_BLOCK_MS", "4000"),
    ],
)
def test_a_huge_value_is_refused_naming_the_variable_and_the_maximum(
    variable: str, maximum: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        from_env({"REDIS_URL": URL, variable: HUGE})

    assert caught.value.variable == variable
    assert maximum in str(caught.value)


def test_values_at_the_upper_bounds_are_accepted() -> None:
    settings = from_env(
        {
            "REDIS_URL": URL,
            "STREAMS_CONCURRENCY": "10000",
            "STREAMS_BATCH_SIZE": "10000",
            "STREAMS_VISIBILITY_TIMEOUT_MS": "86400000",
            "STREAMS_HEARTBEAT_INTERVAL_MS": "3600000",
        }
    )

    assert settings.queue("ml") == QueueSettings(
        concurrency=10_000, batch_size=10_000, visibility_timeout_ms=86_400_000
    )


def test_a_huge_scheduler_lease_is_refused() -> None:
    with pytest.raises(ConfigError, match="STREAMS_SCHEDULER_LEASE_MS: must be between 100 and"):
        SchedulerConfig.from_env({"STREAMS_SCHEDULER_LEASE_MS": HUGE})


@pytest.mark.parametrize(
    "variable",
    ["GODO_RECOMMENDATIONS_EVERY_MS", "GODO_DROP_PAST_EVENTS_EVERY_MS", "GODO_TRIM_EVERY_MS"],
)
def test_a_huge_schedule_interval_is_refused_naming_the_variable(variable: str) -> None:
    with pytest.raises(ConfigError, match=f"^{variable}: must be at most"):
        app_from_env({variable: HUGE})


def test_a_job_interval_beyond_a_year_is_refused() -> None:
    with pytest.raises(ValueError, match="every_ms must be between 1 and"):
        Job("yearly-and-more", 10**13, Publish("default", "ping"))
