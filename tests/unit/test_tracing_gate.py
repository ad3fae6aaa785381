"""OTEL_* variables decide whether godo-streams traces (see streams/tracing.py)."""

from __future__ import annotations

import pytest

from streams.config import from_env

URL = {"REDIS_URL": "redis://localhost:1"}


@pytest.mark.parametrize(
    ("env", "exporter"),
    [
        ({}, ""),
        ({"OTEL_SERVICE_NAME": "godo"}, "otlp"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "otlp"),
        ({"OTEL_TRACES_EXPORTER": "console"}, "console"),
        ({"OTEL_SERVICE_NAME": "godo", "OTEL_SDK_DISABLED": "true"}, ""),
        ({"OTEL_PROPAGATORS": "tracecontext"}, ""),  # propagators alone don't ask for traces
    ],
)
def test_otel_variables_turn_tracing_on(env: dict[str, str], exporter: str) -> None:
    assert from_env({**URL, **env}).otel_traces_exporter == exporter
