"""Redaction of Redis URLs in anything shown to a person."""

from __future__ import annotations

import pytest

from streams.client import redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("redis://:hunter2@host:6379/0", "redis://***@host:6379/0"),
        ("rediss://:hunter2@host:6380", "rediss://***@host:6380"),
        ("redis://default:hunter2@host/0", "redis://***@host/0"),
        ("rediss://alice:hunter2@cache.example.com", "rediss://***@cache.example.com"),
        (
            "Error connecting to redis://u:hunter2@a:1/0 and rediss://:hunter2@b:2/0.",
            "Error connecting to redis://***@a:1/0 and rediss://***@b:2/0.",
        ),
        ("url='redis://:hunter2@host:6379'", "url='redis://***@host:6379'"),
        # redis-py takes everything before the last '@' as user info, '@' in the password too.
        ("redis://:hun@ter2@host:6379/0", "redis://***@host:6379/0"),
        ("redis://u:p@ss@w0rd@host", "redis://***@host"),
        ("redis://:hun/ter2@host:6379/0", "redis://***@host:6379/0"),
        # urlsplit lower-cases the scheme, so REDIS_URL may spell it in capitals.
        ("REDIS://:hunter2@host:6379", "REDIS://***@host:6379"),
        ("Rediss://:hunter2@host", "Rediss://***@host"),
        # Nothing to hide: unchanged.
        ("redis://host:6379/0", "redis://host:6379/0"),
        (
            "redis://host:6379/0 contact admin@example.com",
            "redis://host:6379/0 contact admin@example.com",
        ),
        ("no url here", "no url here"),
    ],
)
def test_redact_hides_user_info(text: str, expected: str) -> None:
    assert redact(text) == expected
    assert "hunter2" not in redact(text)
