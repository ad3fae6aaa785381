"""Stream id helpers used by safe trimming."""

from __future__ import annotations

import pytest

from streams.retention import format_id, next_id, parse_id

MAX_SEQ = 2**64 - 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0-0", (0, 0)),
        ("1700000000000-0", (1_700_000_000_000, 0)),
        (b"1700000000000-12", (1_700_000_000_000, 12)),
        ("5", (5, 0)),
        (f"{MAX_SEQ}-{MAX_SEQ}", (MAX_SEQ, MAX_SEQ)),
    ],
)
def test_parse_id(raw: str | bytes, expected: tuple[int, int]) -> None:
    assert parse_id(raw) == expected


@pytest.mark.parametrize(
    ("sid", "expected"), [((0, 0), "0-0"), ((1_700_000_000_000, 7), "1700000000000-7")]
)
def test_format_id(sid: tuple[int, int], expected: str) -> None:
    assert format_id(sid) == expected


@pytest.mark.parametrize("raw", ["0-0", "1-1", "1700000000000-99", f"{MAX_SEQ}-3"])
def test_format_inverts_parse(raw: str) -> None:
    assert format_id(parse_id(raw)) == raw


@pytest.mark.parametrize(
    ("sid", "expected"),
    [((0, 0), (0, 1)), ((5, 9), (5, 10)), ((5, MAX_SEQ), (6, 0))],
)
def test_next_id_is_the_smallest_larger_id(sid: tuple[int, int], expected: tuple[int, int]) -> None:
    assert next_id(sid) == expected
    assert next_id(sid) > sid


@pytest.mark.parametrize("raw", ["", "abc", "1-x", "-"])
def test_parse_id_rejects_garbage(raw: str) -> None:
    with pytest.raises(ValueError, match="invalid literal"):
        parse_id(raw)
