"""redis+sentinel:// URLs: parsed and checked at start, password hidden, same client shape."""

from __future__ import annotations

import pytest

from streams.client import create_redis, create_sync_redis, redact
from streams.config import SentinelTarget, from_env, parse_sentinel_url
from streams.errors import ConfigError
from streams.sentinel import BoundedSentinelPool, SentinelRedis

PASSWORD = "s3ntinel-pw"  # noqa: S105  # a test value


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            f"redis+sentinel://:{PASSWORD}@s1:26379,s2:26380/mymaster/2",
            SentinelTarget(
                sentinels=(("s1", 26379), ("s2", 26380)), master="mymaster", db=2, password=PASSWORD
            ),
        ),
        (
            "redis+sentinel://s1,[::1]/godo",
            SentinelTarget(sentinels=(("s1", 26379), ("::1", 26379)), master="godo"),
        ),
        (
            f"rediss+sentinel://user:{PASSWORD}@s1/m?ssl_cert_reqs=none&sentinel_auth=true",
            SentinelTarget(
                sentinels=(("s1", 26379),),
                master="m",
                username="user",
                password=PASSWORD,
                tls=True,
                sentinel_auth=True,
                tls_options={"ssl_cert_reqs": "none"},
            ),
        ),
    ],
)
def test_sentinel_urls_are_taken_apart(url: str, expected: SentinelTarget) -> None:
    assert parse_sentinel_url(url) == expected
    assert from_env({"REDIS_URL": url}).redis_url.reveal() == url


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        (f"redis+sentinel://:{PASSWORD}@s1:26379", "names no primary"),
        (f"redis+sentinel://:{PASSWORD}@s1/m/x", "database must be a number"),
        (f"redis+sentinel://:{PASSWORD}@s1:99999/m", "invalid Sentinel address"),
        (f"redis+sentinel://:{PASSWORD}@s1,,s2/m", "empty Sentinel host"),
        (f"redis+sentinel://:{PASSWORD}@s1/m?db=1", "option 'db' is not supported"),
        (f"redis+sentinel://:{PASSWORD}@s1/m?ssl_cert_reqs=none", "option 'ssl_cert_reqs'"),
        (f"redis+sentinel://:{PASSWORD}@s1/m?sentinel_auth=maybe", "'sentinel_auth' must be"),
        (f"sentinel://:{PASSWORD}@s1/m", "redis+sentinel://"),
    ],
)
def test_a_bad_sentinel_url_is_one_line_naming_the_variable(url: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        from_env({"REDIS_URL": url})

    assert str(caught.value).startswith("REDIS_URL: ")
    assert fragment in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_redact_hides_the_password_of_a_sentinel_url() -> None:
    text = f"cannot reach redis+sentinel://:{PASSWORD}@s1:26379/m and REDISS+SENTINEL://u:{PASSWORD}@h/m"

    assert PASSWORD not in redact(text)
    assert "redis+sentinel://***@s1:26379/m" in redact(text)


async def test_a_sentinel_url_builds_the_same_bounded_client_for_the_primary() -> None:
    settings = from_env(
        {
            "REDIS_URL": f"redis+sentinel://:{PASSWORD}@s1,s2/mymaster/3",
            "STREAMS_MAX_CONNECTIONS": "7",
        }
    )

    client = create_redis(settings, socket_timeout_s=2.5)
    try:
        pool = client.connection_pool
        assert isinstance(client, SentinelRedis)
        assert isinstance(pool, BoundedSentinelPool)
        assert pool.service_name == "mymaster"
        assert pool.max_connections == 7
        assert pool.connection_kwargs["db"] == 3
        assert pool.connection_kwargs["password"] == PASSWORD
        assert pool.connection_kwargs["socket_timeout"] == 2.5
        sentinel_kwargs = pool.sentinel_manager.sentinels[0].connection_pool.connection_kwargs
        assert sentinel_kwargs.get("password") is None  # sentinel_auth is off
        assert PASSWORD not in repr(client)
    finally:
        await client.aclose()


def test_the_lease_thread_gets_a_sentinel_client_too() -> None:
    settings = from_env({"REDIS_URL": "redis+sentinel://s1/mymaster"})

    client = create_sync_redis(settings, socket_timeout_s=5, client_name="lease")
    try:
        assert client.connection_pool.service_name == "mymaster"  # type: ignore[attr-defined]  # a SentinelConnectionPool
    finally:
        client.close()
