"""Settings from the environment: defaults, overrides, and one-line errors naming the variable."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.config import DEFAULT_QUEUES, QueueSettings, Secret, Settings, from_env
from streams.errors import ConfigError, UnknownQueueError

URL = "redis://:s3cret-pw@redis.internal:6379/0"
BASE = {"REDIS_URL": URL}


def env(**variables: str) -> dict[str, str]:
    return {**BASE, **variables}


def test_defaults_when_only_redis_url_is_set() -> None:
    settings = from_env(BASE)

    assert settings.redis_url.reveal() == URL
    assert settings.prefix == "godo"
    assert settings.group == "godo"
    assert settings.queue_names == DEFAULT_QUEUES
    assert all(q == QueueSettings() for q in settings.queues.values())
    assert settings.queue("default").visibility_timeout_ms == 30_000
    assert settings.max_connections == 50
    assert settings.api_token is None


@pytest.mark.parametrize(
    ("variables", "queue", "field", "expected"),
    [
        ({"STREAMS_CONCURRENCY": "4"}, "events", "concurrency", 4),
        ({"STREAMS_CONCURRENCY": "4"}, "ml", "concurrency", 4),
        ({"STREAMS_ML_CONCURRENCY": "2"}, "ml", "concurrency", 2),
        ({"STREAMS_ML_CONCURRENCY": "2"}, "events", "concurrency", 16),
        ({"STREAMS_CONCURRENCY": "4", "STREAMS_ML_CONCURRENCY": "2"}, "ml", "concurrency", 2),
        ({"STREAMS_ML_CONCURRENCY": "2", "STREAMS_CONCURRENCY": "4"}, "ml", "concurrency", 2),
        ({"STREAMS_BATCH_SIZE": "7"}, "default", "batch_size", 7),
        ({"STREAMS_MAX_ATTEMPTS": "9"}, "notifications", "max_attempts", 9),
        ({"STREAMS_BACKOFF_BASE_MS": "10"}, "default", "backoff_base_ms", 10),
        ({"STREAMS_EVENTS_BACKOFF_CAP_MS": "5000"}, "events", "backoff_cap_ms", 5000),
        ({"STREAMS_VISIBILITY_TIMEOUT_MS": "60000"}, "ml", "visibility_timeout_ms", 60_000),
        ({"STREAMS_RETENTION_MS": "1000"}, "default", "retention_ms", 1000),
        ({"STREAMS_NOTIFICATIONS_MAX_LEN": "123"}, "notifications", "max_len", 123),
    ],
)
def test_global_and_per_queue_overrides_with_per_queue_winning(
    variables: dict[str, str], queue: str, field: str, expected: int
) -> None:
    settings = from_env(env(**variables))

    assert getattr(settings.queue(queue), field) == expected


@pytest.mark.parametrize(
    ("variable", "value", "field", "expected"),
    [
        ("STREAMS_PREFIX", "staging", "prefix", "staging"),
        ("STREAMS_GROUP", "workers", "group", "workers"),
        ("STREAMS_BLOCK_MS", "200", "block_ms", 200),
        ("STREAMS_HEARTBEAT_INTERVAL_MS", "50", "heartbeat_interval_ms", 50),
        ("STREAMS_SHUTDOWN_TIMEOUT_MS", "0", "shutdown_timeout_ms", 0),
        ("STREAMS_MAX_CONNECTIONS", "8", "max_connections", 8),
    ],
)
def test_top_level_overrides(variable: str, value: str, field: str, expected: object) -> None:
    assert getattr(from_env(env(**{variable: value})), field) == expected


def test_surrounding_whitespace_is_ignored() -> None:
    settings = from_env(env(STREAMS_CONCURRENCY=" 4\n", STREAMS_PREFIX=" staging "))

    assert settings.queue("ml").concurrency == 4
    assert settings.prefix == "staging"


def test_queue_list_comes_from_streams_queues() -> None:
    settings = from_env(
        env(STREAMS_QUEUES=" alpha, beta.v2 ,gamma-1,", STREAMS_BETA_V2_BATCH_SIZE="3")
    )

    assert settings.queue_names == ("alpha", "beta.v2", "gamma-1")
    assert settings.queue("beta.v2").batch_size == 3
    assert settings.queue("alpha").batch_size == QueueSettings().batch_size


def test_unknown_queue_names_the_configured_ones() -> None:
    settings = from_env(env(STREAMS_QUEUES="a,b"))

    with pytest.raises(UnknownQueueError, match=r"unknown queue 'c'; configured queues: a, b"):
        settings.queue("c")


def test_api_token_is_a_secret() -> None:
    settings = from_env(env(STREAMS_API_TOKEN="tok-123"))  # noqa: S106  # a test value

    assert settings.api_token == Secret("tok-123")
    assert "tok-123" not in repr(settings)


@pytest.mark.parametrize("url", ["rediss://:pw@cache.example.com:6380/0", "redis://localhost"])
def test_redis_and_rediss_urls_are_accepted(url: str) -> None:
    assert from_env({"REDIS_URL": url}).redis_url.reveal() == url


INVALID = [
    # (environment on top of BASE, variable the error must name)
    ({"STREAMS_CONCURRENCY": "abc"}, "STREAMS_CONCURRENCY"),
    ({"STREAMS_CONCURRENCY": "1.5"}, "STREAMS_CONCURRENCY"),
    ({"STREAMS_CONCURRENCY": ""}, "STREAMS_CONCURRENCY"),
    ({"STREAMS_BATCH_SIZE": "0"}, "STREAMS_BATCH_SIZE"),
    ({"STREAMS_ML_CONCURRENCY": "-3"}, "STREAMS_ML_CONCURRENCY"),
    ({"STREAMS_CONCURRENCY": "4", "STREAMS_EVENTS_CONCURRENCY": "0"}, "STREAMS_EVENTS_CONCURRENCY"),
    ({"STREAMS_MAX_ATTEMPTS": "0"}, "STREAMS_MAX_ATTEMPTS"),
    ({"STREAMS_VISIBILITY_TIMEOUT_MS": "50"}, "STREAMS_VISIBILITY_TIMEOUT_MS"),
    ({"STREAMS_BLOCK_MS": "x"}, "STREAMS_BLOCK_MS"),
    ({"STREAMS_BLOCK_MS": "0"}, "STREAMS_BLOCK_MS"),
    ({"STREAMS_HEARTBEAT_INTERVAL_MS": "10"}, "STREAMS_HEARTBEAT_INTERVAL_MS"),
    ({"STREAMS_SHUTDOWN_TIMEOUT_MS": "-1"}, "STREAMS_SHUTDOWN_TIMEOUT_MS"),
    ({"STREAMS_MAX_CONNECTIONS": "0"}, "STREAMS_MAX_CONNECTIONS"),
    # Backoff cap below the base: blame the variable the user actually set.
    ({"STREAMS_BACKOFF_CAP_MS": "500"}, "STREAMS_BACKOFF_CAP_MS"),
    ({"STREAMS_ML_BACKOFF_CAP_MS": "500"}, "STREAMS_ML_BACKOFF_CAP_MS"),
    ({"STREAMS_BACKOFF_BASE_MS": "60000"}, "STREAMS_BACKOFF_BASE_MS"),
    ({"STREAMS_EVENTS_BACKOFF_BASE_MS": "60000"}, "STREAMS_EVENTS_BACKOFF_BASE_MS"),
    ({"STREAMS_BACKOFF_BASE_MS": "900", "STREAMS_BACKOFF_CAP_MS": "800"}, "STREAMS_BACKOFF_CAP_MS"),
    # Backoff cap above the visibility timeout.
    ({"STREAMS_BACKOFF_CAP_MS": "40000"}, "STREAMS_BACKOFF_CAP_MS"),
    ({"STREAMS_DEFAULT_BACKOFF_CAP_MS": "40000"}, "STREAMS_DEFAULT_BACKOFF_CAP_MS"),
    ({"STREAMS_VISIBILITY_TIMEOUT_MS": "10000"}, "STREAMS_VISIBILITY_TIMEOUT_MS"),
    ({"STREAMS_ML_VISIBILITY_TIMEOUT_MS": "10000"}, "STREAMS_ML_VISIBILITY_TIMEOUT_MS"),
    (
        {"STREAMS_BACKOFF_CAP_MS": "20000", "STREAMS_VISIBILITY_TIMEOUT_MS": "10000"},
        "STREAMS_BACKOFF_CAP_MS",
    ),
    ({"STREAMS_PREFIX": "a b"}, "STREAMS_PREFIX"),
    ({"STREAMS_PREFIX": "{tag}"}, "STREAMS_PREFIX"),
    ({"STREAMS_PREFIX": "t:x"}, "STREAMS_PREFIX"),
    ({"STREAMS_PREFIX": "x" * 65}, "STREAMS_PREFIX"),
    ({"STREAMS_GROUP": "a/b"}, "STREAMS_GROUP"),
    ({"STREAMS_QUEUES": "a,b,a"}, "STREAMS_QUEUES"),
    ({"STREAMS_QUEUES": " , "}, "STREAMS_QUEUES"),
    ({"STREAMS_QUEUES": "a.b,a_b"}, "STREAMS_QUEUES"),
    ({"STREAMS_QUEUES": "ml,ML"}, "STREAMS_QUEUES"),
    ({"STREAMS_QUEUES": "ok,bad{name}"}, "STREAMS_QUEUES"),
    ({"REDIS_URL": ""}, "REDIS_URL"),
    ({"REDIS_URL": "   "}, "REDIS_URL"),
    ({"REDIS_URL": "http://:s3cret-pw@redis.internal:6379"}, "REDIS_URL"),
    ({"REDIS_URL": "redis.internal:6379"}, "REDIS_URL"),
    ({"REDIS_URL": "redis://:s3cret-pw@redis.internal:99999/0"}, "REDIS_URL"),
    ({"REDIS_URL": "redis://:s3cret-pw@:6379/0"}, "REDIS_URL"),
]


@pytest.mark.parametrize(("variables", "variable"), INVALID)
def test_invalid_value_names_the_variable_in_one_line(
    variables: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        from_env(env(**variables))

    message = str(caught.value)
    assert caught.value.variable == variable
    assert message.startswith(f"{variable}: ")
    assert "\n" not in message
    assert "s3cret-pw" not in message


@pytest.mark.parametrize(
    ("variables", "fragment"),
    [
        ({"STREAMS_CONCURRENCY": "abc"}, "'abc'"),
        ({"STREAMS_CONCURRENCY": "0"}, ">= 1"),
        ({"STREAMS_BACKOFF_CAP_MS": "500"}, "backoff base"),
        ({"STREAMS_BACKOFF_BASE_MS": "60000"}, "backoff cap"),
        ({"STREAMS_VISIBILITY_TIMEOUT_MS": "10000"}, "backoff cap"),
        ({"STREAMS_QUEUES": "a.b,a_b"}, "'a.b' and 'a_b' would share the variables STREAMS_A_B_"),
        ({"STREAMS_BACKOFF_CAP_MS": "40000"}, "visibility timeout"),
    ],
)
def test_invalid_value_says_what_is_expected(variables: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        from_env(env(**variables))


def test_non_integer_message_reads_naturally() -> None:
    with pytest.raises(ConfigError) as caught:
        from_env(env(STREAMS_CONCURRENCY="abc"))

    assert str(caught.value).count("got") == 1


def test_missing_redis_url() -> None:
    with pytest.raises(ConfigError, match=r"^REDIS_URL: is not set"):
        from_env({})


def test_settings_built_in_code_are_checked_too() -> None:
    with pytest.raises(ConfigError, match="STREAMS_DEFAULT_BACKOFF_CAP_MS"):
        Settings(
            redis_url=Secret(URL),
            queues={"default": QueueSettings(backoff_base_ms=100, backoff_cap_ms=50)},
        )


def test_secret_hides_its_value() -> None:
    secret = Secret("hunter2")

    assert "hunter2" not in repr(secret)
    assert "hunter2" not in str(secret)
    assert "hunter2" not in f"{secret}"
    assert secret.reveal() == "hunter2"
    assert secret == Secret("hunter2")
    assert secret != Secret("other")


_PASSWORD = st.text(alphabet=string.ascii_letters + string.digits + "-_~", min_size=8, max_size=24)
_BAD_SETTINGS = st.sampled_from(
    [
        {},
        {"STREAMS_CONCURRENCY": "x"},
        {"STREAMS_BACKOFF_CAP_MS": "1"},
        {"STREAMS_PREFIX": "a b"},
        {"STREAMS_QUEUES": "a,a"},
    ]
)


@settings(max_examples=25, deadline=None)
@given(password=_PASSWORD, user=st.sampled_from(["", "default", "admin"]), extra=_BAD_SETTINGS)
def test_password_never_appears_in_repr_or_errors(
    password: str, user: str, extra: dict[str, str]
) -> None:
    for scheme in ("redis", "rediss", "http"):
        url = f"{scheme}://{user}:{password}@redis.internal:6379/0"
        assert password not in _outcome({"REDIS_URL": url, "STREAMS_API_TOKEN": password, **extra})


def _outcome(variables: dict[str, str]) -> str:
    """Everything from_env shows: the settings' repr and str, or the error's str and repr."""
    try:
        settings_ = from_env(variables)
    except ConfigError as exc:
        return f"{exc}\n{exc!r}"
    return f"{settings_!r}\n{settings_}\n{settings_.redis_url}"


@pytest.mark.parametrize(
    ("value", "mode"), [("auto", "auto"), ("TRUE", "true"), (" false ", "false")]
)
def test_streams_cluster_takes_auto_true_or_false(value: str, mode: str) -> None:
    assert from_env(env(STREAMS_CLUSTER=value)).cluster == mode


def test_streams_cluster_rejects_other_values_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="STREAMS_CLUSTER"):
        from_env(env(STREAMS_CLUSTER="yes"))
