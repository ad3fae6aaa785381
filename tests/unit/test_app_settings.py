from __future__ import annotations

import pytest

from consumers.settings import HostRule, from_env, parse_hosts
from streams import ConfigError


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", frozenset()),
        (" , ", frozenset()),
        ("hooks.example.com", {HostRule("hooks.example.com")}),
        ("Hooks.Example.COM.:8443", {HostRule("hooks.example.com", 8443)}),
        ("a.test, b.test:8080", {HostRule("a.test"), HostRule("b.test", 8080)}),
        ("[::1]:9000", {HostRule("::1", 9000)}),
        ("[::1]", {HostRule("::1")}),
        ("private:API.railway.internal:8080", {HostRule("api.railway.internal", 8080, True)}),
        ("Private: web.railway.internal", {HostRule("web.railway.internal", private=True)}),
        ("private:8080", {HostRule("private", 8080)}),
    ],
)
def test_webhook_hosts_are_parsed(raw: str, expected: set[HostRule]) -> None:
    assert parse_hosts(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "http://a.test",
        "a.test:port",
        "a.test:",
        "a.test:70000",
        "::1",
        "user@a.test",
        "[::1",
        "private:",
        "private:private:a.test",
    ],
)
def test_bad_webhook_host_entry_is_a_one_line_config_error(raw: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_hosts(raw)
    assert info.value.variable == "NOTIFICATIONS_WEBHOOK_HOSTS"
    assert "\n" not in str(info.value)


def test_settings_come_from_the_environment() -> None:
    settings = from_env(
        {
            "NOTIFICATIONS_WEBHOOK_HOSTS": "a.test",
            "CACHE_REDIS_URL": "redis://:pw@cache.internal:6379/0",
            "GODO_RECOMMENDATIONS_EVERY_MS": "500",
        }
    )
    assert settings.webhook_hosts == {HostRule("a.test")}
    assert settings.cache_redis_url is not None
    assert settings.recommendations_every_ms == 500


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"CACHE_REDIS_URL": "http://cache:6379"}, "CACHE_REDIS_URL"),
        ({"GODO_TRIM_EVERY_MS": "0"}, "GODO_TRIM_EVERY_MS"),
        ({"NOTIFICATIONS_WEBHOOK_TIMEOUT_MS": "soon"}, "NOTIFICATIONS_WEBHOOK_TIMEOUT_MS"),
    ],
)
def test_bad_values_name_their_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as info:
        from_env(env)
    assert info.value.variable == variable
