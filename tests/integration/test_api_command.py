"""`streams api`: uvicorn serving the app on --port, $PORT or 8000, over IPv4 and IPv6."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support import ROOT, cli_env, run_cli, streams_cmd, wait_until_sync


def free_port() -> int:
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
        sock.bind(("::", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(
    args: list[str], env: Mapping[str, str], log: Path, command: list[str] | None = None
) -> Iterator[None]:
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command or streams_cmd("api", *args), env=dict(env), cwd=ROOT, stdout=sink, stderr=sink
        )
        try:
            yield
        finally:
            process.terminate()
            process.wait(timeout=15)


def health(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=1.0).status_code
    except httpx.TransportError:
        return None


def test_api_serves_health_on_ipv6_and_ipv4_with_host_dual_stack(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "api.log"
    with serving(["--host", "::", "--port", str(port)], cli_env(redis_url, prefix), log):
        first = wait_until_sync(lambda: health(f"http://[::1]:{port}/health"), timeout_s=20)
        assert first == 200, log.read_text()
        assert health(f"http://127.0.0.1:{port}/health") == 200


def test_api_takes_the_port_from_the_environment(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "api.log"
    with serving(["--host", "127.0.0.1"], cli_env(redis_url, prefix, PORT=str(port)), log):
        first = wait_until_sync(lambda: health(f"http://127.0.0.1:{port}/health"), timeout_s=20)
        assert first == 200, log.read_text()


def test_uvicorn_serves_the_asgi_module(redis_url: str, prefix: str, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "api.log"
    command = [sys.executable, "-m", "uvicorn", "api.asgi:app", "--port", str(port)]
    with serving([], cli_env(redis_url, prefix), log, command):
        first = wait_until_sync(lambda: health(f"http://127.0.0.1:{port}/health"), timeout_s=20)
        assert first == 200, log.read_text()


@pytest.mark.parametrize(("args", "extra"), [(["--port", "99999"], {}), ([], {"PORT": "web"})])
def test_a_bad_port_is_a_one_line_error(
    redis_url: str, prefix: str, args: list[str], extra: dict[str, str]
) -> None:
    result = run_cli(["api", *args], cli_env(redis_url, prefix, **extra))

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "port" in result.stderr.lower()


def test_a_port_in_use_on_ipv6_is_a_one_line_error(redis_url: str, prefix: str) -> None:
    with socket.create_server(("::", 0), family=socket.AF_INET6, dualstack_ipv6=True) as taken:
        port = taken.getsockname()[1]
        result = run_cli(["api", "--host", "::", "--port", str(port)], cli_env(redis_url, prefix))

    assert result.returncode == 2
    assert "cannot listen" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("trusted", "logged"), [("", "203.0.113.9"), ("10.9.8.7", "127.0.0.1")])
def test_forwarded_headers_are_believed_only_from_trusted_proxies(
    redis_url: str, prefix: str, tmp_path: Path, trusted: str, logged: str
) -> None:
    port = free_port()
    log = tmp_path / "api.log"
    env = cli_env(redis_url, prefix, STREAMS_API_FORWARDED_ALLOW_IPS=trusted)
    args = ["--host", "127.0.0.1", "--port", str(port), "--access-log"]
    with serving(args, env, log):
        wait_until_sync(lambda: health(f"http://127.0.0.1:{port}/health"), timeout_s=20)
        spoofed = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
        httpx.get(f"http://127.0.0.1:{port}/queues", headers=spoofed, timeout=2.0)
        line = wait_until_sync(lambda: _access_line(log, "/queues"), timeout_s=5)
    assert f"{logged}:" in line, line


def _access_line(log: Path, path: str) -> str | None:
    return next((x for x in log.read_text().splitlines() if f"GET {path} " in x), None)


def test_a_bad_trusted_proxy_entry_is_a_one_line_error(redis_url: str, prefix: str) -> None:
    env = cli_env(redis_url, prefix, STREAMS_API_FORWARDED_ALLOW_IPS="edge.railway")
    result = run_cli(["api", "--port", "1"], env)

    assert result.returncode == 2
    assert result.stderr.startswith("streams: error: STREAMS_API_FORWARDED_ALLOW_IPS: ")
    assert "Traceback" not in result.stderr
