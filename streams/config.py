"""Settings read once from the environment, validated, then passed down explicitly.

Every queue setting has a default, can be set for all queues with ``STREAMS_<NAME>``
and for one queue with ``STREAMS_<QUEUE>_<NAME>`` (for example ``STREAMS_ML_CONCURRENCY=2``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Annotated, Final, Literal, TypeVar
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import msgspec

from streams.errors import ConfigError, UnknownQueueError

DEFAULT_QUEUES: Final = ("default", "events", "notifications", "ml")
_NAME_RE: Final = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

_T = TypeVar("_T")

Positive = Annotated[int, msgspec.Meta(ge=1)]
# STREAMS_CLUSTER: "auto" asks the server (INFO cluster) when the first client is created.
ClusterMode = Literal["auto", "true", "false"]
NonNegative = Annotated[int, msgspec.Meta(ge=0)]

# The client's socket timeout (client.py). A blocking read must return well before it, or
# every idle read would time out and look like an outage.
SOCKET_TIMEOUT_MS: Final = 5_000
MAX_BLOCK_MS: Final = SOCKET_TIMEOUT_MS - 1_000
# Upper bounds where a huge value breaks the process: one task per unit of concurrency,
# Redis refuses counts and expiry times beyond int64, timers overflow.
MAX_CONCURRENCY: Final = 10_000
MAX_BATCH_SIZE: Final = 10_000
MAX_VISIBILITY_TIMEOUT_MS: Final = 24 * 3600 * 1000
MAX_HEARTBEAT_INTERVAL_MS: Final = 3600 * 1000
# Each partition costs every worker a blocking read; beyond this, use more queues.
MAX_PARTITIONS: Final = 256
# A publish's WAIT must end well before the API's 3 s socket timeout (api/app.py), or the
# client would time out and retry the whole publish, appending the entry twice.
MAX_REPLICA_TIMEOUT_MS: Final = 2_000
ReplicaTimeout = Annotated[int, msgspec.Meta(ge=1, le=MAX_REPLICA_TIMEOUT_MS)]
DAY_MS: Final = 24 * 3600 * 1000
MAX_RETENTION_MS: Final = 3650 * DAY_MS
MAX_DEAD_MAX_LEN: Final = 100_000_000
_RATE_LIMIT: Final = re.compile(r"^([1-9][0-9]{0,8}/[smh])?$")


class Secret:
    """A string that never shows itself in a repr, a log line or an error."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class QueueSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Tunables of one queue; times are in milliseconds."""

    concurrency: Annotated[int, msgspec.Meta(ge=1, le=MAX_CONCURRENCY)] = 16
    batch_size: Annotated[int, msgspec.Meta(ge=1, le=MAX_BATCH_SIZE)] = 500
    max_attempts: Positive = 5
    backoff_base_ms: Positive = 1_000
    backoff_cap_ms: Positive = 30_000
    visibility_timeout_ms: Annotated[int, msgspec.Meta(ge=100, le=MAX_VISIBILITY_TIMEOUT_MS)] = (
        30_000
    )
    retention_ms: Positive = 24 * 3600 * 1000
    max_len: Positive = 1_000_000
    partitions: Annotated[int, msgspec.Meta(ge=1, le=MAX_PARTITIONS)] = 1
    # Housekeeping (streams/housekeeping.py): dead letters' own retention and cap, and how
    # long a consumer holding nothing may stay idle before it is removed from the group.
    dead_retention_ms: Annotated[int, msgspec.Meta(ge=1, le=MAX_RETENTION_MS)] = 7 * DAY_MS
    dead_max_len: Annotated[int, msgspec.Meta(ge=1, le=MAX_DEAD_MAX_LEN)] = 100_000
    consumer_idle_ms: Annotated[int, msgspec.Meta(ge=1_000, le=MAX_RETENTION_MS)] = 600_000
    dedupe_ms: NonNegative = 0  # 0: off; messages with a key are published once per window
    rate_limit: str = ""  # e.g. 50/s, 1000/m; checked by check_rate_limit()


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the worker, producer, API and scheduler need to know."""

    redis_url: Secret
    prefix: str = "godo"
    group: str = "godo"
    queues: dict[str, QueueSettings] = msgspec.field(
        default_factory=lambda: {q: QueueSettings() for q in DEFAULT_QUEUES}
    )
    block_ms: Positive = 1_000
    heartbeat_interval_ms: Annotated[int, msgspec.Meta(ge=50, le=MAX_HEARTBEAT_INTERVAL_MS)] = 5_000
    shutdown_timeout_ms: NonNegative = 25_000
    max_connections: Positive = 50
    api_token: Secret | None = None
    api_docs: bool = True
    api_dashboard: bool = True
    api_stale_pending_ms: Positive = 300_000
    cluster: ClusterMode = "auto"
    publish_min_replicas: Annotated[int, msgspec.Meta(ge=0, le=100)] = 0
    publish_replica_timeout_ms: ReplicaTimeout = 1_000
    publish_fsync: bool = False
    # "" : tracing off. Else OTEL_TRACES_EXPORTER (default otlp) once any OTEL_* variable
    # configures tracing; streams/tracing.py then loads OpenTelemetry if it is installed.
    otel_traces_exporter: str = ""

    def __post_init__(self) -> None:
        _check_settings(self)

    @property
    def queue_names(self) -> tuple[str, ...]:
        return tuple(self.queues)

    def queue(self, name: str) -> QueueSettings:
        """Return one queue's settings, or raise UnknownQueueError naming the known ones."""
        try:
            return self.queues[name]
        except KeyError:
            raise UnknownQueueError(name, self.queue_names) from None


def _check_settings(settings: Settings) -> None:
    check_redis_url(settings.redis_url.reveal(), sentinel=True)
    if settings.block_ms > MAX_BLOCK_MS:
        raise ConfigError(
            "STREAMS_BLOCK_MS",
            f"{settings.block_ms} must be at most {MAX_BLOCK_MS}: a blocking read must end "
            f"well before the client's {SOCKET_TIMEOUT_MS // 1000} s socket timeout",
        )
    for variable, value in (("STREAMS_PREFIX", settings.prefix), ("STREAMS_GROUP", settings.group)):
        if not _NAME_RE.match(value):
            raise ConfigError(variable, f"{value!r} must be 1-64 letters, digits, '_', '.' or '-'")
    if not settings.queues:
        raise ConfigError("STREAMS_QUEUES", "at least one queue is required")
    for name, queue in settings.queues.items():
        if not _NAME_RE.match(name):
            raise ConfigError(
                "STREAMS_QUEUES",
                f"queue name {name!r} must be 1-64 letters, digits, '_', '.' or '-'",
            )
        check_backoff(name, queue, {})
        check_rate_limit(name, queue, {})


def check_rate_limit(name: str, queue: QueueSettings, source: Mapping[str, str]) -> None:
    if not _RATE_LIMIT.match(queue.rate_limit):
        raise ConfigError(
            _variable(name, "rate_limit", source),
            f"expected COUNT/s, COUNT/m or COUNT/h with COUNT >= 1 (e.g. 50/s), "
            f"got {queue.rate_limit!r}",
        )


def check_backoff(name: str, queue: QueueSettings, source: Mapping[str, str]) -> None:
    """Check the backoff bounds, naming the variable that was set (source: field -> variable)."""
    cap, base, timeout = queue.backoff_cap_ms, queue.backoff_base_ms, queue.visibility_timeout_ms
    if cap < base:
        if "backoff_cap_ms" not in source and "backoff_base_ms" in source:
            raise ConfigError(
                source["backoff_base_ms"], f"{base} must not exceed the backoff cap ({cap} ms)"
            )
        raise ConfigError(
            _variable(name, "backoff_cap_ms", source),
            f"{cap} must be at least the backoff base ({base} ms)",
        )
    if cap > timeout:
        # A waiting retry is parked as an idle pending entry, so its delay can't exceed the timeout.
        if "backoff_cap_ms" not in source and "visibility_timeout_ms" in source:
            raise ConfigError(
                source["visibility_timeout_ms"],
                f"{timeout} must be at least the backoff cap ({cap} ms)",
            )
        raise ConfigError(
            _variable(name, "backoff_cap_ms", source),
            f"{cap} must not exceed the visibility timeout ({timeout} ms)",
        )


def _variable(queue: str, field: str, source: Mapping[str, str]) -> str:
    return source.get(field, f"STREAMS_{_env_part(queue)}_{field.upper()}")


_URL_FORM: Final = "expected redis://HOST:PORT/DB, with an optional password before the host"
_DB: Final = re.compile(r"^[0-9]{1,9}$")
# Query options redis-py would honour. The client sets its own timeouts, pool size, retries and
# client name (see client.py); a URL overriding them would break STREAMS_BLOCK_MS and
# STREAMS_MAX_CONNECTIONS, so only the database and, for rediss://, the TLS options pass.
_URL_OPTIONS: Final = frozenset({"db"})
_TLS_URL_OPTIONS: Final = frozenset(
    {
        "ssl_cert_reqs",
        "ssl_ca_certs",
        "ssl_ca_path",
        "ssl_certfile",
        "ssl_keyfile",
        "ssl_check_hostname",
    }
)
_CERT_REQS: Final = frozenset({"none", "optional", "required"})


def check_redis_url(url: str, variable: str = "REDIS_URL", *, sentinel: bool = False) -> None:
    """Raise ConfigError unless url is a usable redis:// or rediss:// URL (never echoing it).

    With sentinel, redis+sentinel:// and rediss+sentinel:// URLs are accepted too.
    """
    if sentinel and is_sentinel_url(url):
        parse_sentinel_url(url, variable)
        return
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigError(
            variable,
            f"is not a valid URL (check the port and any [] around an IPv6 host); {_URL_FORM}",
        ) from None
    if parts.scheme not in ("redis", "rediss"):
        sentinel_too = ", redis+sentinel:// or rediss+sentinel://" if sentinel else ""
        raise ConfigError(variable, f"must start with redis:// or rediss:// (TLS){sentinel_too}")
    if not parts.hostname or any(c.isspace() for c in parts.hostname):
        raise ConfigError(variable, f"has no valid host; {_URL_FORM}")
    if port == 0:
        raise ConfigError(variable, "port must be between 1 and 65535")
    db = parts.path.strip("/")
    if db and not _DB.match(db):
        raise ConfigError(variable, "database must be a number, as in redis://HOST:PORT/0")
    _check_url_options(parts.query, parts.scheme == "rediss", variable)


class SentinelTarget(msgspec.Struct, frozen=True, kw_only=True):
    """A redis+sentinel:// URL taken apart: where the Sentinels are and which primary to ask for."""

    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False
    sentinel_auth: bool = False
    tls_options: dict[str, str] = msgspec.field(default_factory=dict)


SENTINEL_PORT: Final = 26379
_SENTINEL_SCHEMES: Final = ("redis+sentinel://", "rediss+sentinel://")
_SENTINEL_FORM: Final = (
    "expected redis+sentinel://[:PASSWORD@]HOST:PORT[,HOST:PORT...]/MASTER_NAME[/DB]"
)
_BOOL: Final = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def is_sentinel_url(url: str) -> bool:
    return url.lower().startswith(_SENTINEL_SCHEMES)


def parse_sentinel_url(url: str, variable: str = "REDIS_URL") -> SentinelTarget:
    """Take a redis+sentinel:// URL apart, or raise ConfigError (never echoing the password)."""
    scheme, _, rest = url.partition("://")
    rest, _, query = rest.partition("?")
    userinfo, _, rest = rest.rpartition("@")
    hosts, _, path = rest.partition("/")
    username, _, password = userinfo.partition(":")
    names = [part for part in path.split("/") if part]
    if not names or len(names) > 2 or any(c.isspace() for c in names[0]):
        raise ConfigError(variable, f"names no primary; {_SENTINEL_FORM}")
    if len(names) == 2 and not _DB.match(names[1]):
        raise ConfigError(variable, f"database must be a number; {_SENTINEL_FORM}")
    tls = scheme.lower() == "rediss+sentinel"
    options = dict(parse_qsl(query, keep_blank_values=True))
    auth = options.pop("sentinel_auth", "false").lower()
    if auth not in _BOOL:
        raise ConfigError(variable, "option 'sentinel_auth' must be true or false")
    _check_url_options(urlencode(options), tls, variable, sentinel=True)
    return SentinelTarget(
        sentinels=tuple(_sentinel_address(host, variable) for host in hosts.split(",")),
        master=unquote(names[0]),
        db=int(names[1]) if len(names) == 2 else 0,
        username=unquote(username) or None,
        password=unquote(password) or None,
        tls=tls,
        sentinel_auth=_BOOL[auth],
        tls_options=options,
    )


def _sentinel_address(host: str, variable: str) -> tuple[str, int]:
    try:
        parts = urlsplit(f"//{host}")
        port = parts.port or SENTINEL_PORT
    except ValueError:
        raise ConfigError(variable, f"has an invalid Sentinel address; {_SENTINEL_FORM}") from None
    if not parts.hostname or any(c.isspace() for c in parts.hostname):
        raise ConfigError(variable, f"has an empty Sentinel host; {_SENTINEL_FORM}")
    return parts.hostname, port


def _check_url_options(query: str, tls: bool, variable: str, *, sentinel: bool = False) -> None:
    allowed = _URL_OPTIONS | _TLS_URL_OPTIONS if tls else _URL_OPTIONS
    if sentinel:  # the database is in the path; sentinel_auth is read by the caller
        allowed = allowed - _URL_OPTIONS
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name not in allowed:
            supported = ", ".join(sorted(allowed | ({"sentinel_auth"} if sentinel else set())))
            raise ConfigError(
                variable,
                f"option {name!r} is not supported (supported: {supported}; "
                "timeouts, pool size and retries are set by godo-streams)",
            )
        if (name == "db" and not _DB.match(value)) or (
            name == "ssl_cert_reqs" and value.lower() not in _CERT_REQS
        ):
            raise ConfigError(variable, f"option {name!r} has an invalid value")


def _env_part(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def _check_queue_names(names: tuple[str, ...]) -> None:
    if len(set(names)) != len(names):
        raise ConfigError("STREAMS_QUEUES", "lists a queue twice")
    seen: dict[str, str] = {}
    for name in names:
        other = seen.setdefault(_env_part(name), name)
        if other != name:
            raise ConfigError(
                "STREAMS_QUEUES",
                f"queues {other!r} and {name!r} would share the variables "
                f"STREAMS_{_env_part(name)}_*; rename one",
            )


def _queue_env(env: Mapping[str, str], queue: str) -> tuple[dict[str, str], dict[str, str]]:
    """Collect one queue's raw values and remember which variable each came from."""
    raw: dict[str, str] = {}
    source: dict[str, str] = {}
    for field in QueueSettings.__struct_fields__:
        for variable in (f"STREAMS_{field.upper()}", f"STREAMS_{_env_part(queue)}_{field.upper()}"):
            if variable in env:
                raw[field] = env[variable].strip()
                source[field] = variable
    return raw, source


_TOP_LEVEL: Final = {
    "prefix": "STREAMS_PREFIX",
    "group": "STREAMS_GROUP",
    "block_ms": "STREAMS_BLOCK_MS",
    "heartbeat_interval_ms": "STREAMS_HEARTBEAT_INTERVAL_MS",
    "shutdown_timeout_ms": "STREAMS_SHUTDOWN_TIMEOUT_MS",
    "max_connections": "STREAMS_MAX_CONNECTIONS",
    "api_docs": "STREAMS_API_DOCS",
    "api_dashboard": "STREAMS_API_DASHBOARD",
    "api_stale_pending_ms": "STREAMS_API_STALE_PENDING_MS",
    "cluster": "STREAMS_CLUSTER",
    "publish_min_replicas": "STREAMS_PUBLISH_MIN_REPLICAS",
    "publish_replica_timeout_ms": "STREAMS_PUBLISH_REPLICA_TIMEOUT_MS",
    "publish_fsync": "STREAMS_PUBLISH_FSYNC",
}


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from environment variables; raise ConfigError naming the bad variable."""
    env = os.environ if env is None else env
    url = env.get("REDIS_URL", "").strip()
    if not url:
        raise ConfigError(
            "REDIS_URL",
            "is not set; expected redis://HOST:PORT/DB, with an optional password before the host",
        )
    names = tuple(
        q.strip()
        for q in env.get("STREAMS_QUEUES", ",".join(DEFAULT_QUEUES)).split(",")
        if q.strip()
    )
    _check_queue_names(names)
    queues: dict[str, QueueSettings] = {}
    for name in names:
        raw, source = _queue_env(env, name)
        queues[name] = _convert(raw, QueueSettings, source)
        check_backoff(name, queues[name], source)
        check_rate_limit(name, queues[name], source)
    raw_top = {field: env[var].strip() for field, var in _TOP_LEVEL.items() if var in env}
    if "cluster" in raw_top:
        raw_top["cluster"] = raw_top["cluster"].lower()
    token = env.get("STREAMS_API_TOKEN", "").strip()
    top = _convert(raw_top, _TopLevel, _TOP_LEVEL)
    return Settings(
        redis_url=Secret(url),
        queues=queues,
        api_token=Secret(token) if token else None,
        otel_traces_exporter=_otel_exporter(env),
        **msgspec.structs.asdict(top),
    )


_OTEL_VARS: Final = (
    "OTEL_SERVICE_NAME",
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)


def _otel_exporter(env: Mapping[str, str]) -> str:
    """The trace exporter to use, or "" when no OTEL_* variable asks for tracing."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return ""
    if not any(env.get(variable, "").strip() for variable in _OTEL_VARS):
        return ""
    return env.get("OTEL_TRACES_EXPORTER", "").strip().lower() or "otlp"


class _TopLevel(msgspec.Struct, frozen=True, kw_only=True):
    prefix: str = "godo"
    group: str = "godo"
    block_ms: Positive = 1_000
    heartbeat_interval_ms: Annotated[int, msgspec.Meta(ge=50, le=MAX_HEARTBEAT_INTERVAL_MS)] = 5_000
    shutdown_timeout_ms: NonNegative = 25_000
    max_connections: Positive = 50
    api_docs: bool = True
    api_dashboard: bool = True
    api_stale_pending_ms: Positive = 300_000
    cluster: ClusterMode = "auto"
    publish_min_replicas: Annotated[int, msgspec.Meta(ge=0, le=100)] = 0
    publish_replica_timeout_ms: ReplicaTimeout = 1_000
    publish_fsync: bool = False


def _convert(raw: dict[str, str], type_: type[_T], source: Mapping[str, str]) -> _T:
    try:
        return msgspec.convert(raw, type_, strict=False)
    except msgspec.ValidationError as exc:
        field_match = re.search(r"at `\$\.(\w+)`", str(exc))
        field = field_match.group(1) if field_match else ""
        variable = source.get(field, field.upper() or "environment")
        # msgspec says "Expected `int`, got `str`" for text that isn't an integer.
        reason = str(exc).split(" - at ")[0].removesuffix(", got `str`")
        raise ConfigError(variable, f"{reason}, got {raw.get(field)!r}") from None
