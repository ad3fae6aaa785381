from __future__ import annotations

import pytest

from consumers.schedules import jobs
from consumers.settings import AppSettings
from streams import ConfigError, StreamsError
from streams.scheduler import Job, Publish, SchedulerConfig, load_jobs


def test_lease_and_check_interval_come_from_the_environment() -> None:
    config = SchedulerConfig.from_env({"STREAMS_SCHEDULER_LEASE_MS": "900"})
    assert config == SchedulerConfig(lease_ms=900, check_ms=300)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"STREAMS_SCHEDULER_LEASE_MS": "fast"}, "STREAMS_SCHEDULER_LEASE_MS"),
        ({"STREAMS_SCHEDULER_LEASE_MS": "50"}, "STREAMS_SCHEDULER_LEASE_MS"),
        ({"STREAMS_SCHEDULER_CHECK_MS": "9000"}, "STREAMS_SCHEDULER_CHECK_MS"),
    ],
)
def test_bad_scheduler_settings_name_their_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as info:
        SchedulerConfig.from_env(env)
    assert info.value.variable == variable


@pytest.mark.parametrize(("name", "every_ms"), [("", 10), ("a:b", 10), ("ok", 0)])
def test_invalid_jobs_are_refused(name: str, every_ms: int) -> None:
    with pytest.raises(ValueError, match="job"):
        Job(name, every_ms, Publish("default", "ping"))


def test_the_godo_schedule_has_the_three_jobs_with_their_intervals() -> None:
    schedule = {job.name: job for job in jobs(AppSettings(recommendations_every_ms=500))}
    assert schedule["refresh-recommendations"].every_ms == 500
    assert schedule["drop-past-events"].every_ms == 24 * 3_600_000
    refresh = schedule["refresh-recommendations"].action
    assert isinstance(refresh, Publish)
    assert refresh.type == "recommendations.refresh_active"
    assert callable(schedule["trim-streams"].action)


def test_load_jobs_reports_a_bad_spec_in_one_line() -> None:
    with pytest.raises(StreamsError, match=r"--schedule: cannot import 'nowhere\.module'"):
        load_jobs("nowhere.module:jobs")
    with pytest.raises(StreamsError, match="not a sequence"):
        load_jobs("consumers.settings:HOUR_MS")
