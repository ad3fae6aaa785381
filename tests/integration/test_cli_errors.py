"""Users' mistakes through real `streams` processes: one line on stderr, exit 2, no traceback."""

from __future__ import annotations

import os
import re
import socket
import subprocess
from pathlib import Path

import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from streams.keys import Keys
from tests.support import ROOT, cli_env, run_cli, streams_cmd

PASSWORD = "pw-5be1d07a"  # noqa: S105  # a test value; must never be printed


def env_with_modules(tmp_path: Path, url: str, prefix: str, **extra: str) -> dict[str, str]:
    """cli_env plus tmp_path on PYTHONPATH, holding modules that fail in different ways."""
    (tmp_path / "raises_on_import.py").write_text("raise RuntimeError('boom at import')\n")
    env = cli_env(url, prefix, **extra)
    env["PYTHONPATH"] = f"{ROOT}:{tmp_path}"
    return env


def assert_one_line(result: subprocess.CompletedProcess[str], code: int, fragment: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("streams: error: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert fragment in result.stderr
    assert PASSWORD not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["publish", "default", "ping", "{}"],
        ["worker"],
        ["api"],
        ["scheduler"],
    ],
)
def test_an_app_that_raises_on_import_stops_every_command_with_one_line(
    tmp_path: Path, redis_url: str, prefix: str, args: list[str]
) -> None:
    env = env_with_modules(tmp_path, redis_url, prefix, STREAMS_APP="raises_on_import:registry")

    result = run_cli(args, env)

    assert_one_line(result, 2, "STREAMS_APP: importing 'raises_on_import' failed: RuntimeError")


def test_with_log_level_debug_the_import_error_shows_its_traceback(
    tmp_path: Path, redis_url: str, prefix: str
) -> None:
    env = env_with_modules(
        tmp_path, redis_url, prefix, STREAMS_APP="raises_on_import:registry", LOG_LEVEL="DEBUG"
    )

    result = run_cli(["publish", "default", "ping", "{}"], env)

    assert result.returncode == 2
    assert "Traceback" in result.stderr
    assert "raises_on_import.py" in result.stderr


@pytest.mark.parametrize("value", ["0", "-1", "x", "", str(10**9)])
def test_worker_concurrency_out_of_range_is_a_usage_error(
    redis_url: str, prefix: str, value: str
) -> None:
    result = run_cli(["worker", "--concurrency", value], cli_env(redis_url, prefix))

    assert result.returncode == 2
    assert "argument --concurrency: expected a whole number from 1 to 10000" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_block_time_beyond_the_socket_timeout_stops_the_worker_at_start(
    redis_url: str, prefix: str
) -> None:
    result = run_cli(["worker"], cli_env(redis_url, prefix, STREAMS_BLOCK_MS="5000"))

    assert_one_line(result, 2, "STREAMS_BLOCK_MS: 5000 must be at most 4000")


COMMANDS = ["worker", "publish", "status", "dead", "api", "scheduler", "dev", "schema"]


def assert_short_usage_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) <= 5, result.stderr
    assert fragment in result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unknown_option_shows_the_commands_own_usage(
    redis_url: str, prefix: str, command: str
) -> None:
    args = {"publish": ["default", "ping", "{}"], "dead": ["list", "ml"]}.get(command, [])

    result = run_cli([command, *args, "--no-such-option"], cli_env(redis_url, prefix))

    assert_short_usage_error(result, "unrecognized arguments: --no-such-option")
    assert result.stderr.startswith(f"usage: streams {command} ")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["nope"], "invalid choice: 'nope'"),
        (["publish", "default"], "the following arguments are required: type, json"),
        (["dead", "list"], "the following arguments are required: queue"),
        (["dead", "relist", "ml"], "invalid choice: 'relist'"),
        (["dead", "list", "ml", "--limit", "many"], "argument --limit: invalid int value"),
        (["dev", "--port", "web"], "argument --port: expected a TCP port number"),
        (["dev", "--demo-rate", "fast"], "argument --demo-rate: invalid float value"),
        (["worker", "--name"], "argument --name: expected one argument"),
        (["--log-level"], "argument --log-level: expected one argument"),
    ],
)
def test_a_missing_or_malformed_argument_is_a_short_usage_error(
    redis_url: str, prefix: str, args: list[str], fragment: str
) -> None:
    result = run_cli(args, cli_env(redis_url, prefix))

    assert_short_usage_error(result, fragment)


def test_log_level_is_accepted_after_the_command(redis_url: str, prefix: str) -> None:
    result = run_cli(["status", "--log-level", "DEBUG"], cli_env(redis_url, prefix))

    assert result.returncode == 0, result.stderr
    assert "DEBUG" in result.stderr


@pytest.mark.parametrize("value", ["bogus", "10"])
def test_a_bad_log_level_is_one_line(redis_url: str, prefix: str, value: str) -> None:
    result = run_cli(["status"], cli_env(redis_url, prefix, LOG_LEVEL=value))

    assert_one_line(result, 2, "--log-level/LOG_LEVEL: expected DEBUG, INFO, WARNING or ERROR")


def test_an_empty_log_level_means_the_default(redis_url: str, prefix: str) -> None:
    result = run_cli(["status"], cli_env(redis_url, prefix, LOG_LEVEL=""))

    assert result.returncode == 0, result.stderr


def test_api_on_a_port_in_use_is_one_line(redis_url: str, prefix: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run_cli(
            ["api", "--host", "127.0.0.1", "--port", str(port)], cli_env(redis_url, prefix)
        )

    assert_one_line(result, 2, f"cannot listen on 127.0.0.1:{port}: Address already in use")


def test_api_on_an_unknown_host_is_one_line(redis_url: str, prefix: str) -> None:
    result = run_cli(["api", "--host", "no-such-host.invalid"], cli_env(redis_url, prefix))

    assert_one_line(result, 2, "cannot listen on no-such-host.invalid:8000")


def run_dev(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """`streams dev` in an empty directory with REDIS_URL unset (it would start a server)."""
    env = cli_env("unused", "devtest", **extra)
    del env["REDIS_URL"]
    work = tmp_path / "project"
    work.mkdir(exist_ok=True)
    (work / "a-file").write_text("")
    return subprocess.run(
        streams_cmd("dev", *args),
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--port", "0"], "argument --port: expected a TCP port number (1-65535), got '0'"),
        (["--port", "65536"], "argument --port: expected a TCP port number"),
        (["--data-dir", ""], "argument --data-dir: expected a directory"),
    ],
)
def test_dev_with_a_bad_port_or_empty_data_dir_is_a_usage_error(
    tmp_path: Path, args: list[str], fragment: str
) -> None:
    result = run_dev(tmp_path, *args)

    assert_short_usage_error(result, fragment)
    assert sorted(p.name for p in (tmp_path / "project").iterdir()) == ["a-file"]


@pytest.mark.parametrize(
    ("args", "extra", "fragment"),
    [
        (["--data-dir", "a-file"], {}, "--data-dir 'a-file' is a file, not a directory"),
        (["--data-dir", "a-file/data"], {}, "is not a writable directory: Not a directory"),
        (["--demo"], {"STREAMS_DEMO": "nocolon"}, "STREAMS_DEMO: 'nocolon' is not module:attr"),
        (["--demo"], {"STREAMS_DEMO": "os:sep"}, "STREAMS_DEMO: 'os:sep' is a str, not a func"),
        (["--demo"], {"STREAMS_DEMO": "os:getcwd"}, "STREAMS_DEMO: calling 'os:getcwd' failed"),
        ([], {"STREAMS_APP": "nocolon"}, "STREAMS_APP: 'nocolon' is not module:attribute"),
        ([], {"STREAMS_SCHEDULER_LEASE_MS": "5"}, "STREAMS_SCHEDULER_LEASE_MS: must be between"),
        ([], {"STREAMS_BLOCK_MS": "9000"}, "STREAMS_BLOCK_MS: 9000 must be at most 4000"),
        ([], {"PORT": "web"}, "PORT: must be a TCP port number (1-65535), got 'web'"),
    ],
)
def test_dev_refuses_a_mistake_before_starting_anything(
    tmp_path: Path, args: list[str], extra: dict[str, str], fragment: str
) -> None:
    result = run_dev(tmp_path, *args, **extra)

    assert_one_line(result, 2, fragment)
    assert result.stdout == ""  # nothing announced: no server, no children
    assert sorted(p.name for p in (tmp_path / "project").iterdir()) == ["a-file"]


def test_dev_on_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run_dev(tmp_path, "--port", str(port))

    assert_one_line(result, 2, f"cannot listen on 127.0.0.1:{port}: Address already in use")


@pytest.mark.parametrize(("args", "env_port"), [([], True), (["--port", "{port}"], False)])
def test_dev_takes_its_port_from_port_like_api_and_port_option_wins(
    tmp_path: Path, args: list[str], env_port: bool
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        # PORT names the taken port, or a free-looking one that --port overrides.
        extra = {"PORT": str(port) if env_port else "1"}
        result = run_dev(tmp_path, *[a.format(port=port) for a in args], **extra)

    assert_one_line(result, 2, f"cannot listen on 127.0.0.1:{port}: Address already in use")


async def test_publish_with_invalid_utf8_is_one_line_and_publishes_nothing(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    not_utf8 = os.fsdecode(b'{"message": "\xff"}')  # as the shell passes such bytes

    result = run_cli(["publish", "default", "ping", not_utf8], cli_env(redis_url, prefix))

    assert_one_line(result, 2, "the payload is not valid UTF-8 (byte 13)")
    assert await redis.xlen(Keys(prefix).stream("default")) == 0


def test_publish_with_invalid_utf8_on_stdin_is_one_line(redis_url: str, prefix: str) -> None:
    result = subprocess.run(
        streams_cmd("publish", "default", "ping", "-"),
        env=cli_env(redis_url, prefix),
        input=b'{"message": "\xff"}',
        capture_output=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 2
    assert result.stderr == b"streams: error: the payload is not valid UTF-8 (byte 13)\n"
    with SyncRedis.from_url(redis_url) as client:
        assert client.xlen(Keys(prefix).stream("default")) == 0


def test_a_queue_named_twice_gets_one_consumer_in_the_order_given(
    redis_url: str, prefix: str
) -> None:
    result = run_cli(
        ["worker", "events", "default", "events", "default", "--stop-when-idle"],
        cli_env(redis_url, prefix),
    )

    assert result.returncode == 0, result.stderr
    started = re.findall(r"worker \S+ consuming (.+)$", result.stderr, re.MULTILINE)
    assert started == ["events, default"], result.stderr
