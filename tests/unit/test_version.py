"""The minimum Redis version a worker accepts."""

from __future__ import annotations

import pytest

from streams.version import ServerVersionError, check_version, parse_version


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("7.0.15", (7, 0, 15)),
        ("6.2.14", (6, 2, 14)),
        ("7.2.4", (7, 2, 4)),
        ("8", (8,)),
        ("7.4.0-rc1", (7, 4, 0)),
        ("255.255.255", (255, 255, 255)),
        ("", None),
        ("unknown", None),
    ],
)
def test_parse_version(text: str, parsed: tuple[int, ...] | None) -> None:
    assert parse_version(text) == parsed


@pytest.mark.parametrize("version", ["7.0.0", "7.0.15", "7.2.4", "7", "8.0.2", "", "weird"])
def test_redis_7_and_newer_pass_and_so_does_what_cannot_be_read(version: str) -> None:
    check_version(version)  # Valkey reports redis_version 7.2.x


@pytest.mark.parametrize("version", ["6.2.14", "6.0.0", "5.0.7", "6"])
def test_older_servers_are_refused_with_one_line_naming_the_version(version: str) -> None:
    with pytest.raises(ServerVersionError) as caught:
        check_version(version)
    message = str(caught.value)
    assert "\n" not in message
    assert f"version {version};" in message
    assert "Redis 7.0 or newer" in message
