"""The wire format: to_fields / from_fields round-trips and DecodeError for malformed entries."""

from __future__ import annotations

import pytest

from streams.errors import DecodeError
from streams.messages import MAX_TYPE_LENGTH, Envelope, from_fields, to_fields


def as_wire(fields: dict[str, str | bytes]) -> dict[bytes, bytes]:
    """What redis-py returns for an entry: bytes keys and values."""
    return {k.encode(): v if isinstance(v, bytes) else v.encode() for k, v in fields.items()}


@pytest.mark.parametrize(
    ("key", "headers", "ts_ms"),
    [
        (None, None, 1_700_000_000_123),
        ("order-42", None, 1),
        (None, {"trace": "abc", "tenant": "t1"}, 0),
        ("k", {"unicode": "café ✓"}, 1_700_000_000_000),
        ("", None, 5),
    ],
)
def test_fields_round_trip(key: str | None, headers: dict[str, str] | None, ts_ms: int) -> None:
    data = b'{"message":"ping","n":1}'

    fields = to_fields("event.discovered", data, key=key, headers=headers, ts_ms=ts_ms)
    envelope = from_fields(as_wire(fields))

    assert envelope == Envelope(
        type="event.discovered", data=data, ts_ms=ts_ms, key=key, headers=headers or {}
    )


def test_fields_are_plain_strings_with_only_what_was_given() -> None:
    fields = to_fields("ping", b"{}", ts_ms=12)

    assert fields == {"type": "ping", "data": b"{}", "ts": "12"}


def test_headers_are_a_json_object() -> None:
    fields = to_fields("ping", b"{}", headers={"a": "1"}, ts_ms=1)

    assert fields["headers"] == b'{"a":"1"}'


def test_empty_headers_are_omitted() -> None:
    assert "headers" not in to_fields("ping", b"{}", headers={})


def test_ts_defaults_to_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("streams.messages.time.time_ns", lambda: 1_234_567_000_000)

    assert to_fields("ping", b"{}")["ts"] == "1234567"


def test_entry_written_by_another_language_decodes() -> None:
    # What `redis-cli XADD ... type ping data '{}'` produces: no ts, key or headers.
    envelope = from_fields({b"type": b"ping", b"data": b"{}"})

    assert envelope == Envelope(type="ping", data=b"{}", ts_ms=None, key=None, headers={})


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({b"data": b"{}"}, "entry has no type field"),
        ({b"type": b"ping"}, "entry has no data field"),
        ({}, "entry has no type or data field"),
        ({b"type": b"ping", b"data": b"{}", b"ts": b"yesterday"}, "ts must be integer"),
        ({b"type": b"ping", b"data": b"{}", b"ts": b"1.5"}, "ts must be integer"),
        ({b"type": b"ping", b"data": b"{}", b"ts": b"\xff"}, "ts must be integer"),
        ({b"type": b"ping", b"data": b"{}", b"headers": b"not json"}, "headers must be"),
        ({b"type": b"ping", b"data": b"{}", b"headers": b"[1]"}, "headers must be"),
        ({b"type": b"ping", b"data": b"{}", b"headers": b'{"a":1}'}, "headers must be"),
        ({b"type": b"ping", b"data": b"{}", b"headers": b"\xff"}, "headers must be"),
        ({b"type": b"\xff\xfe", b"data": b"{}"}, "not valid UTF-8"),
        ({b"type": b"ping", b"data": b"{}", b"key": b"\xc3"}, "not valid UTF-8"),
        ({b"type": b"", b"data": b"{}"}, "type must be 1-200 characters"),
        ({b"type": b"t" * (MAX_TYPE_LENGTH + 1), b"data": b"{}"}, "type must be 1-200"),
    ],
)
def test_malformed_entry_raises_decode_error(fields: dict[bytes, bytes], reason: str) -> None:
    with pytest.raises(DecodeError) as caught:
        from_fields(fields)

    assert reason in caught.value.reason
    assert "\n" not in str(caught.value)


def test_longest_allowed_type_decodes() -> None:
    type_ = "t" * MAX_TYPE_LENGTH

    assert from_fields({b"type": type_.encode(), b"data": b"{}"}).type == type_


def test_bad_ts_reason_is_bounded() -> None:
    with pytest.raises(DecodeError) as caught:
        from_fields({b"type": b"ping", b"data": b"{}", b"ts": b"x" * 10_000})

    assert len(str(caught.value)) < 200
