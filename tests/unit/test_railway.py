"""The deployment files are evaluated here so that they can't silently rot."""

from __future__ import annotations

import json
import runpy
import shlex
from typing import Any

import pytest

from godo.cli import parser
from tests.support import ROOT

SERVICES = ("web", "worker", "scheduler")


def graph() -> dict[str, Any]:
    namespace = runpy.run_path(str(ROOT / ".railway" / "railway.py"))
    result: dict[str, Any] = namespace["main"]().to_graph()
    return result


def resources() -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in graph()["resources"]}


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def test_iac_describes_redis_and_the_three_services() -> None:
    found = resources()
    assert set(found) == {"redis", *SERVICES}
    assert found["redis"]["engine"] == "redis"
    major = found["redis"]["image"].rsplit(":", 1)[1].split(".")[0]
    assert major.isdigit()  # pinned, never :latest


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_gets_redis_url_from_the_database_and_restarts_on_failure(
    name: str,
) -> None:
    service = resources()[name]
    assert service["variables"]["REDIS_URL"] == {
        "type": "reference",
        "resource": "database.redis",
        "output": "REDIS_URL",
    }
    assert service["deploy"]["restartPolicyType"] == "ON_FAILURE"


@pytest.mark.parametrize("name", SERVICES)
def test_start_commands_match_the_procfile_and_parse(name: str) -> None:
    start = resources()[name]["deploy"]["startCommand"]
    assert start == procfile()[name]
    argv = shlex.split(start)
    assert argv[0] == "streams"
    parser().parse_args(argv[1:])  # exits (fails the test) on an unknown command or option


def test_web_has_the_health_check() -> None:
    assert resources()["web"]["deploy"]["healthcheckPath"] == "/health"


def test_workers_scale_with_replicas_and_drain_longer_than_their_shutdown_timeout() -> None:
    worker = resources()["worker"]
    assert worker["deploy"]["numReplicas"] >= 2
    timeout_ms = int(worker["variables"]["STREAMS_SHUTDOWN_TIMEOUT_MS"]["value"])
    assert worker["deploy"]["drainingSeconds"] * 1000 > timeout_ms


def test_config_as_code_matches_the_iac_web_service() -> None:
    config = json.loads((ROOT / "railway.json").read_text())
    web = resources()["web"]["deploy"]
    for key in ("startCommand", "healthcheckPath", "restartPolicyType", "drainingSeconds"):
        assert config["deploy"][key] == web[key]
