from __future__ import annotations

import logging

import pytest

from streams.config import DEFAULT_QUEUES
from streams.variables import unknown_queue_variables, warn_unknown_queue_variables


@pytest.mark.parametrize(
    ("env", "queues", "expected"),
    [
        ({"STREAMS_EVENT_MAX_ATTEMPTS": "3"}, DEFAULT_QUEUES, ["STREAMS_EVENT_MAX_ATTEMPTS"]),
        ({"STREAMS_EVENTS_MAX_ATTEMPTS": "3"}, DEFAULT_QUEUES, []),
        ({"STREAMS_MAX_ATTEMPTS": "3", "STREAMS_BACKOFF_CAP_MS": "9"}, DEFAULT_QUEUES, []),
        ({"STREAMS_ML_BACKOFF_CAP_MS": "9", "STREAMS_ML_MAX_LEN": "5"}, DEFAULT_QUEUES, []),
        # Queue names with '_', '.' or '-' all become '_' in variable names.
        ({"STREAMS_EVENT_LOG_CONCURRENCY": "2"}, ("event_log",), []),
        ({"STREAMS_EVENT_LOG_CONCURRENCY": "2"}, ("event.log",), []),
        ({"STREAMS_EVENT_LOG_CONCURRENCY": "2"}, ("event",), ["STREAMS_EVENT_LOG_CONCURRENCY"]),
        # Not shaped like a queue setting, or a setting of the process: never reported.
        ({"STREAMS_SHUTDOWN_TIMEOUT_MS": "1", "STREAMS_QUEUES": "a"}, ("a",), []),
        ({"STREAMS_SCHEDULER_LEASE_MS": "1", "STREAMS_API_TOKEN": "x"}, ("a",), []),
        ({"STREAMS_TYPO": "1", "REDIS_URL": "redis://x", "EVENT_MAX_LEN": "1"}, ("a",), []),
    ],
)
def test_variables_for_queues_that_do_not_exist_are_found(
    env: dict[str, str], queues: tuple[str, ...], expected: list[str]
) -> None:
    assert unknown_queue_variables(env, queues) == expected


def test_one_warning_line_names_the_variables_and_the_queues(
    caplog: pytest.LogCaptureFixture,
) -> None:
    env = {"STREAMS_EVENT_MAX_ATTEMPTS": "3", "STREAMS_NOTIFICATION_CONCURRENCY": "2"}
    with caplog.at_level(logging.WARNING):
        warn_unknown_queue_variables(env, DEFAULT_QUEUES)
    [record] = caplog.records
    assert record.getMessage() == (
        "STREAMS_EVENT_MAX_ATTEMPTS, STREAMS_NOTIFICATION_CONCURRENCY are ignored: no such queue "
        "(queues: default, events, notifications, ml; per-queue settings are "
        "STREAMS_<QUEUE>_<SETTING>)"
    )


def test_nothing_is_logged_when_every_variable_fits(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        warn_unknown_queue_variables({"STREAMS_ML_CONCURRENCY": "2"}, DEFAULT_QUEUES)
    assert caplog.records == []
