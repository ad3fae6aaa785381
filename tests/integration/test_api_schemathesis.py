"""Property-based tests of the whole API against its own OpenAPI document (schemathesis)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from streams.keys import Keys
from tests.integration.api_support import AUTH, build_app


def seed(url: str, prefix: str) -> None:
    """Give every endpoint something to show: unread, pending and dead entries."""
    keys = Keys(prefix)
    with redis.Redis.from_url(url) as client:
        stream = keys.stream("default")
        for n in range(5):
            client.xadd(stream, {"type": "ping", "data": f'{{"message": "m{n}"}}'})
        client.xgroup_create(stream, "godo", id="0")
        client.xreadgroup("godo", "c1", {stream: ">"}, count=2)
        for n in range(3):
            client.xadd(
                keys.dead("default"), {"type": "ping", "data": "{}", "dead_error": f"E: {n}"}
            )


@pytest.fixture(scope="module")
def api_schema(redis_url: str) -> schemathesis.BaseSchema:
    prefix = f"st{uuid.uuid4().hex[:10]}"
    seed(redis_url, prefix)
    return schemathesis.openapi.from_asgi("/schema", build_app(redis_url, prefix))


# Litestar's document drops msgspec's item patterns and forbid_unknown_fields, so it is looser
# than the server (a malformed id or a mistyped field is rightly a 400); and Litestar's own
# OPTIONS answer lists only the first method of a path with two (GET and DELETE /dead).
EXCLUDED = [positive_data_acceptance, allow_header_conformance]

REAL_QUEUE_CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]

schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_answers_5xx_and_follows_its_schema(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(headers=AUTH, excluded_checks=EXCLUDED)


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_on_a_real_queue_never_answers_5xx(case: schemathesis.Case[Any]) -> None:
    if case.path_parameters and "queue" in case.path_parameters:
        case.path_parameters["queue"] = "default"  # random names are all 404s
    # The real queue may turn a deliberately invalid case into a valid one, so only the
    # checks that hold for every request apply here.
    case.call_and_validate(headers=AUTH, checks=REAL_QUEUE_CHECKS)
