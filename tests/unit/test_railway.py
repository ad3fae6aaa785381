"""The deployment files are evaluated here so that they can't silently rot."""

from __future__ import annotations

import json
import runpy
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from godo.cli import parser
from tests.support import ROOT

SERVICES = ("web", "worker", "scheduler")
IAC = ROOT / ".railway" / "railway.py"


@pytest.fixture(autouse=True)
def repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GODO_GITHUB_REPO", "example/godo-streams")


def graph(path: Path = IAC) -> dict[str, Any]:
    namespace = runpy.run_path(str(path))
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


def checkout(tmp_path: Path, origin: str | None) -> Path:
    """A copy of the IaC file in a git checkout of its own, with that origin remote."""
    (tmp_path / ".railway").mkdir()
    shutil.copy(IAC, tmp_path / ".railway" / "railway.py")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    if origin is not None:
        subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin", origin], check=True)
    return tmp_path / ".railway" / "railway.py"


def sources(path: Path) -> set[str]:
    services = [r for r in graph(path)["resources"] if r["name"] in SERVICES]
    return {s["source"]["repo"] for s in services}


def test_every_service_builds_from_the_configured_repository() -> None:
    assert sources(IAC) == {"example/godo-streams"}


@pytest.mark.parametrize(
    "origin",
    [
        "git@github.com:me/fork.git",
        "https://github.com/me/fork",
        "https://x-access-token:secret@github.com/me/fork.git",
        "ssh://git@github.com/me/fork.git",
    ],
)
def test_without_the_variable_the_repository_comes_from_the_git_remote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, origin: str
) -> None:
    monkeypatch.delenv("GODO_GITHUB_REPO")
    assert sources(checkout(tmp_path, origin)) == {"me/fork"}


def test_the_variable_wins_over_the_git_remote(tmp_path: Path) -> None:
    assert sources(checkout(tmp_path, "git@github.com:me/fork.git")) == {"example/godo-streams"}


@pytest.mark.parametrize(
    ("origin", "variable", "message"),
    [
        (None, "", "set GODO_GITHUB_REPO=owner/name"),
        ("https://token:secret@gitlab.com/me/fork.git", "", "is not a GitHub repository URL"),
        (None, "just-a-name", "GODO_GITHUB_REPO: expected owner/name, got 'just-a-name'"),
    ],
)
def test_planning_fails_with_one_clear_line_without_a_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, origin: str | None, variable: str, message: str
) -> None:
    monkeypatch.setenv("GODO_GITHUB_REPO", variable)
    path = checkout(tmp_path, origin)
    with pytest.raises(SystemExit) as info:
        graph(path)
    assert message in str(info.value)
    assert "secret" not in str(info.value)
    assert "\n" not in str(info.value)
