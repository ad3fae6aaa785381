"""REDIS_URL (and CACHE_REDIS_URL) values redis-py would reject late, or silently misread."""

from __future__ import annotations

import pytest

from consumers.settings import from_env as app_from_env
from streams.config import from_env
from streams.errors import ConfigError

PASSWORD = "s3cret-pw"  # noqa: S105  # a test value


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        # redis-py raises ValueError or TypeError only when the first connection is made.
        (f"redis://:{PASSWORD}@h:6379/0?socket_timeout=abc", "option 'socket_timeout'"),
        (f"redis://:{PASSWORD}@h:6379/0?foo=bar", "option 'foo' is not supported"),
        (f"redis://:{PASSWORD}@h:6379/0?ssl_cert_reqs=none", "option 'ssl_cert_reqs'"),
        (f"rediss://:{PASSWORD}@h:6379/0?ssl_cert_reqs=bogus", "'ssl_cert_reqs' has an invalid"),
        (f"redis://:{PASSWORD}@h:6379/0?db=x", "'db' has an invalid value"),
        # redis-py reads these as database 0 and port 6379 without a word.
        (f"redis://:{PASSWORD}@h:6379/abc", "database must be a number"),
        (f"redis://:{PASSWORD}@h:0/0", "port must be between 1 and 65535"),
        (f"redis://:{PASSWORD}@h:6379/-1", "database must be a number"),
        (f"redis://:{PASSWORD}@h:65536/0", "is not a valid URL"),
        (f"redis://:{PASSWORD}@h:port/0", "is not a valid URL"),
        (f"unix://:{PASSWORD}@/tmp/redis.sock", "must start with redis://"),
        (f"redis://:{PASSWORD}@bad host:6379/0", "has no valid host"),
    ],
)
def test_a_bad_redis_url_is_refused_at_start_naming_the_variable(url: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        from_env({"REDIS_URL": url})

    assert str(caught.value).startswith("REDIS_URL: ")
    assert fragment in str(caught.value)
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "redis://localhost",
        "redis://default:pw@redis.railway.internal:6379",
        "redis://h:6379/15/",
        "redis://h:6379?db=2",
        "redis://[::1]:6379/0",
        "rediss://:pw@h:6380/0?ssl_cert_reqs=none",
        "rediss://:pw@h:6380/0?ssl_ca_certs=/etc/ca.pem&ssl_check_hostname=false",
    ],
)
def test_usual_redis_urls_are_accepted(url: str) -> None:
    assert from_env({"REDIS_URL": url}).redis_url.reveal() == url


def test_a_bad_cache_redis_url_names_cache_redis_url() -> None:
    with pytest.raises(ConfigError, match=r"^CACHE_REDIS_URL: option 'socket_timeout'"):
        app_from_env({"CACHE_REDIS_URL": "redis://h:6379/0?socket_timeout=1"})
