"""The registry: message types per queue, payload validation on publish and on consume."""

from __future__ import annotations

from typing import Annotated

import msgspec
import pytest

from streams.errors import DecodeError, ValidationError
from streams.router import Context, Registry


class Discovered(msgspec.Struct, frozen=True, kw_only=True):
    event_id: int
    title: str
    score: Annotated[float, msgspec.Meta(ge=0)] = 0.0


class Other(msgspec.Struct, frozen=True):
    name: str


async def on_discovered(payload: Discovered, ctx: Context) -> None:
    """A handler that does nothing."""


def make_registry() -> Registry:
    registry = Registry()
    registry.message("events", "event.discovered", Discovered, on_discovered)
    registry.message("events", "event.updated", Discovered)
    registry.message("default", "ping", Other)
    return registry


def test_registered_route_keeps_schema_and_handler() -> None:
    route = make_registry().route("events", "event.discovered")

    assert route is not None
    assert (route.queue, route.type_name, route.payload) == (
        "events",
        "event.discovered",
        Discovered,
    )
    assert route.handler is on_discovered


def test_route_is_per_queue() -> None:
    registry = make_registry()

    assert registry.route("default", "event.discovered") is None
    assert registry.types("events") == ["event.discovered", "event.updated"]
    assert registry.types("ml") == []


def test_registering_a_type_twice_on_a_queue_fails() -> None:
    registry = make_registry()

    with pytest.raises(
        ValueError, match=r"'event\.discovered' is already registered on queue 'events'"
    ):
        registry.message("events", "event.discovered", Other)


@pytest.mark.parametrize("type_", ["", "t" * 201])
def test_type_names_consumers_cannot_decode_are_refused(type_: str) -> None:
    with pytest.raises(ValueError, match="must be 1-200 characters"):
        Registry().message("events", type_, Other)


def test_same_type_on_another_queue_is_fine() -> None:
    registry = make_registry()

    registry.message("ml", "event.discovered", Other)

    assert registry.types("ml") == ["event.discovered"]


def test_handler_decorator_registers_and_returns_the_function() -> None:
    registry = Registry()

    decorated = registry.handler("events", "event.discovered", Discovered)(on_discovered)

    assert decorated is on_discovered
    route = registry.route("events", "event.discovered")
    assert route is not None
    assert route.handler is on_discovered


@pytest.mark.parametrize(
    "data",
    [
        Discovered(event_id=1, title="Jazz"),
        {"event_id": 1, "title": "Jazz"},
        b'{"event_id":1,"title":"Jazz"}',
        bytearray(b'{"title":"Jazz","event_id":1}'),
        memoryview(b'{"event_id":1,"title":"Jazz","score":0.0}'),
    ],
)
def test_encode_accepts_struct_mapping_or_raw_json(data: object) -> None:
    encoded = make_registry().encode("events", "event.discovered", data)

    assert msgspec.json.decode(encoded, type=Discovered) == Discovered(event_id=1, title="Jazz")


def test_encode_normalises_raw_json() -> None:
    encoded = make_registry().encode(
        "events", "event.discovered", b' {"title": "A", "event_id": 2} '
    )

    assert encoded == b'{"event_id":2,"title":"A","score":0.0}'


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"event_id": "one", "title": "x"}, "$.event_id"),
        ({"event_id": 1}, "title"),
        ({"event_id": 1, "title": "x", "score": -1}, "$.score"),
        (b'{"event_id": 1, "title": 5}', "$.title"),
        # A Struct built in code is not validated by msgspec; publishing must still check it.
        (Discovered(event_id=1, title="x", score=-5.0), "$.score"),
    ],
)
def test_invalid_payload_names_the_field(data: object, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        make_registry().encode("events", "event.discovered", data)

    assert field in caught.value.reason
    assert (caught.value.queue, caught.value.type) == ("events", "event.discovered")
    assert str(caught.value).startswith("queue 'events', type 'event.discovered': ")


@pytest.mark.parametrize("data", [b"{not json", b"", b"\xff\xfe", b"[1, 2]", None])
def test_non_object_payload_is_a_validation_error(data: object) -> None:
    with pytest.raises(ValidationError):
        make_registry().encode("events", "event.discovered", data)


def test_unserialisable_payload_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="not JSON-serialisable"):
        make_registry().encode("events", "event.discovered", {"event_id": object()})


def test_unknown_type_lists_the_known_types() -> None:
    with pytest.raises(ValidationError) as caught:
        make_registry().encode("events", "event.deleted", {})

    assert "unknown message type; known types: event.discovered, event.updated" in str(caught.value)


def test_unknown_type_on_a_queue_without_types_says_none() -> None:
    with pytest.raises(ValidationError, match="known types: none"):
        make_registry().encode("ml", "x", {})


def test_route_decode_returns_the_payload() -> None:
    route = make_registry().route("events", "event.discovered")
    assert route is not None

    assert route.decode(b'{"event_id":3,"title":"t"}') == Discovered(event_id=3, title="t")


def test_route_decode_takes_an_integral_float_as_an_integer_like_json_schema() -> None:
    route = make_registry().route("events", "event.discovered")
    assert route is not None

    payload = route.decode(b'{"event_id":3.0,"title":"t","score":2.0}')

    assert payload == Discovered(event_id=3, title="t", score=2.0)
    assert type(payload.event_id) is int


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b'{"event_id":"x","title":"t"}', "`$.event_id`"),
        (b'{"title":"t"}', "missing required field `event_id`"),
        (b"{", "truncated"),
        (b"\xff", "malformed"),
        (b'{"event_id":1,"title":"t","score":-0.5}', "`$.score`"),
        (b'{"event_id":1,"title":"\xff"}', "can't decode byte 0xff"),  # bad UTF-8 in a string
        (b'{"event_id":1.5,"title":"t"}', "Expected `int`, got `float` - at `$.event_id`"),
        (b'{"event_id":1.0,"title":5}', "Expected `str`, got `int` - at `$.title`"),
    ],
)
def test_route_decode_errors_are_decode_errors(data: bytes, fragment: str) -> None:
    route = make_registry().route("events", "event.discovered")
    assert route is not None

    with pytest.raises(DecodeError) as caught:
        route.decode(data)

    assert caught.value.reason.startswith("payload of 'event.discovered' is invalid: ")
    assert fragment in caught.value.reason


async def test_cleanups_are_kept_in_order() -> None:
    registry = Registry()
    calls: list[str] = []

    @registry.on_cleanup
    async def first() -> None:
        calls.append("first")

    @registry.on_cleanup
    async def second() -> None:
        calls.append("second")

    for cleanup in registry.cleanups:
        await cleanup()

    assert calls == ["first", "second"]
