"""Credentials Redis refuses are a configuration mistake, not an outage: one line, exit 1."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest
import redis as sync_redis
from redis.asyncio import Redis
from redis.exceptions import RedisError

from streams.server import LocalServer
from streams.worker import Worker
from tests.integration.api_support import api_client
from tests.integration.test_worker import Job, registry_with
from tests.support import cli_env, make_settings, run_cli

PASSWORD = "right-horse-battery"  # noqa: S105  # the test server's password
WRONG = "wrong-staple-9f1c"


@pytest.fixture(scope="module")
def locked_server() -> Iterator[LocalServer]:
    """A server of this module's own that wants a password, with a user of few rights."""
    with LocalServer(password=PASSWORD) as server:
        admin = sync_redis.Redis.from_url(server.url)
        admin.acl_setuser(
            "reader",
            enabled=True,
            passwords=[f"+{PASSWORD}"],
            keys=["*"],
            commands=["+ping", "+info"],
        )
        admin.close()
        yield server


def _url(server: LocalServer, userinfo: str) -> str:
    return f"redis://{userinfo}127.0.0.1:{server.port}/0"


def _urls(server: LocalServer) -> dict[str, str]:
    return {
        "WRONGPASS": _url(server, f":{WRONG}@"),
        "NOAUTH": _url(server, ""),
        "NOPERM": _url(server, f"reader:{PASSWORD}@"),
    }


async def _noop(job: Job, ctx: object) -> None:
    return None


@pytest.mark.parametrize("refusal", ["WRONGPASS", "NOAUTH", "NOPERM"])
async def test_worker_stops_at_once_when_redis_refuses_its_credentials(
    locked_server: LocalServer, prefix: str, refusal: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a REDIS_URL whose credentials the server refuses
    settings = make_settings(_urls(locked_server)[refusal], prefix)
    redis = Redis.from_url(settings.redis_url.reveal())
    worker = Worker(redis, settings, registry_with(_noop), ["default", "events"])
    # When a worker starts, then it stops with the refusal rather than waiting it out
    try:
        with anyio.fail_after(5), pytest.raises(RedisError):
            await worker.run()
    finally:
        await redis.aclose()
    assert not [r for r in caplog.records if "redis unavailable" in r.getMessage()]


@pytest.mark.parametrize(
    "args",
    [["worker"], ["status"], ["publish", "default", "ping", "{}"], ["scheduler"]],
    ids=lambda args: args[0],
)
def test_commands_print_one_line_naming_redis_url_and_exit_1(
    locked_server: LocalServer, prefix: str, args: list[str]
) -> None:
    # Given a wrong password in REDIS_URL
    env = cli_env(_urls(locked_server)["WRONGPASS"], prefix)
    # When a command runs
    result = run_cli(args, env, timeout_s=20)
    # Then it exits 1 with one line that names REDIS_URL and hides the password
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("streams: error:")]
    assert errors == [
        f"streams: error: REDIS_URL=redis://***@127.0.0.1:{locked_server.port}/0: "
        "Redis refused the credentials (AuthenticationError: invalid username-password pair "
        "or user is disabled.); check the user name and password in REDIS_URL, and the "
        "user's ACL"
    ]
    assert WRONG not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert "redis unavailable" not in result.stderr


async def test_health_answers_503_naming_the_credentials(
    locked_server: LocalServer, prefix: str
) -> None:
    async with api_client(_urls(locked_server)["WRONGPASS"], prefix) as client:
        response = await client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["reasons"] == ["redis refused the credentials in REDIS_URL: AuthenticationError"]
    assert WRONG not in response.text
