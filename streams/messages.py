"""The wire format: one stream entry is one message made of plain string fields.

    type     message type, for example ``event.discovered`` (required)
    data     the payload as a JSON document (required)
    ts       producer's clock, milliseconds since the Unix epoch (optional)
    key      a caller-chosen key, for example for deduplication (optional)
    headers  a JSON object of string to string (optional)

Any language can produce a message with one XADD; see the README.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Final

import msgspec

from streams.errors import DecodeError

Fields = Mapping[bytes, bytes]
OutFields = dict[str, str | bytes]

MAX_TYPE_LENGTH: Final = 200
# At most 19 digits a part, so every id that matches is below Redis's limit of 2**64 - 1 (an
# exact range is more than a JSON Schema pattern can say). \Z, not $: Python's $ also matches
# before a final newline, which Redis refuses in an id.
_ENTRY_ID: Final = re.compile(r"^[0-9]{1,19}-[0-9]{1,19}\Z")
_headers_decoder: Final = msgspec.json.Decoder(dict[str, str])
_json_encoder: Final = msgspec.json.Encoder()


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    """A decoded entry whose payload is still raw JSON (decoded by its route)."""

    type: str
    data: bytes
    ts_ms: int | None = None
    key: str | None = None
    headers: dict[str, str] = msgspec.field(default_factory=dict)


def is_entry_id(text: str) -> bool:
    """True for an explicit stream entry id ('1700000000000-0') that Redis accepts."""
    return _ENTRY_ID.match(text) is not None


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def to_fields(
    type_: str,
    data: bytes,
    *,
    key: str | None = None,
    headers: Mapping[str, str] | None = None,
    ts_ms: int | None = None,
) -> OutFields:
    """Build the XADD field map for one message; data must already be JSON."""
    fields: OutFields = {
        "type": type_,
        "data": data,
        "ts": str(now_ms() if ts_ms is None else ts_ms),
    }
    if key is not None:
        fields["key"] = key
    if headers:
        fields["headers"] = _json_encoder.encode(dict(headers))
    return fields


def from_fields(fields: Fields) -> Envelope:
    """Decode an entry's fields, raising DecodeError with the reason when they are malformed."""
    raw_type = fields.get(b"type")
    data = fields.get(b"data")
    if raw_type is None or data is None:
        missing = [name for name, value in (("type", raw_type), ("data", data)) if value is None]
        raise DecodeError(f"entry has no {' or '.join(missing)} field")
    try:
        type_ = raw_type.decode()
        key = fields[b"key"].decode() if b"key" in fields else None
    except UnicodeDecodeError:
        raise DecodeError("type or key is not valid UTF-8") from None
    if not type_ or len(type_) > MAX_TYPE_LENGTH:
        raise DecodeError(f"type must be 1-{MAX_TYPE_LENGTH} characters")
    return Envelope(
        type=type_,
        data=data,
        ts_ms=_parse_ts(fields.get(b"ts")),
        key=key,
        headers=_parse_headers(fields.get(b"headers")),
    )


def _parse_ts(raw: bytes | None) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise DecodeError(f"ts must be integer milliseconds, got {raw[:40]!r}") from None


def _parse_headers(raw: bytes | None) -> dict[str, str]:
    if raw is None:
        return {}
    try:
        return _headers_decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise DecodeError(f"headers must be a JSON object of strings: {exc}") from None
