"""`streams publish` refuses a user's mistake with one line and exit 2, before connecting."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator

import pytest

from tests.support import ROOT, cli_env, run_cli, streams_cmd, wait_until_sync

PASSWORD = "pw-9f3kq0zz"  # noqa: S105  # a test value


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback port that records connection attempts and never answers them."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        sock.setblocking(False)
        yield sock


def connected(sock: socket.socket) -> bool:
    try:
        conn, _ = sock.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


@pytest.mark.parametrize(
    ("args", "stdin", "fragment"),
    [
        (["default", "ping", "{not json"], None, "malformed"),
        (["default", "ping", "-"], '{"message": ', "truncated"),
        (["default", "ping", '{"message": 5}'], None, "$.message"),
        (["nope", "ping", "{}"], None, "unknown queue 'nope'"),
        (["default", "pong", "{}"], None, "unknown message type; known types: ping"),
    ],
)
def test_invalid_publish_exits_2_with_one_line_and_sends_nothing(
    listener: socket.socket, args: list[str], stdin: str | None, fragment: str
) -> None:
    port = listener.getsockname()[1]
    env = cli_env(f"redis://:{PASSWORD}@127.0.0.1:{port}/0", "tunit")

    result = run_cli(["publish", *args], env, stdin=stdin)

    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("streams: error: ")
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert PASSWORD not in result.stderr
    assert not connected(listener)


def test_valid_publish_does_connect(listener: socket.socket) -> None:
    # The control for the tests above: a valid message gets as far as connecting.
    port = listener.getsockname()[1]
    env = cli_env(f"redis://:{PASSWORD}@127.0.0.1:{port}/0", "tunit")
    proc = subprocess.Popen(
        streams_cmd("publish", "default", "ping", "{}"),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_until_sync(lambda: connected(listener), timeout_s=10)
    finally:
        proc.kill()
        proc.wait()


def test_missing_redis_url_exits_2_naming_it() -> None:
    env = cli_env("unused", "tunit")
    del env["REDIS_URL"]

    result = run_cli(["publish", "default", "ping", "{}"], env)

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "streams: error: REDIS_URL: is not set; expected redis://HOST:PORT/DB, "
        "with an optional password before the host\n"
    )


def test_bad_setting_exits_2_without_the_password() -> None:
    env = cli_env(f"http://:{PASSWORD}@127.0.0.1:1/0", "tunit")

    result = run_cli(["publish", "default", "ping", "{}"], env)

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "REDIS_URL" in result.stderr
    assert PASSWORD not in result.stderr
