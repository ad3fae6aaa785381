"""Pure pieces of the worker's fault handling: error descriptions and outage classification."""

from __future__ import annotations

import logging

import pytest
from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    ConnectionError,
    MasterDownError,
    NoPermissionError,
    OutOfMemoryError,
    ReadOnlyError,
    ResponseError,
    TimeoutError,
)

from streams.deadletter import MAX_ERROR_LENGTH, describe_error
from streams.outage import Outage, is_outage


class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ is broken")


def test_describe_error_names_the_type_and_message() -> None:
    assert describe_error(ValueError("bad n")) == "ValueError: bad n"


def test_describe_error_survives_an_exception_whose_str_raises() -> None:
    assert describe_error(UnprintableError()) == "UnprintableError: <unprintable message>"


def test_describe_error_truncates_a_huge_message() -> None:
    text = describe_error(ValueError("x" * 10_000_000))
    assert len(text) <= MAX_ERROR_LENGTH
    assert text.startswith("ValueError: xxx")
    assert text.endswith("...")


def test_describe_error_text_can_be_sent_to_redis() -> None:
    # A message built from undecodable bytes (surrogateescape) cannot be encoded as UTF-8 as is.
    text = describe_error(OSError(b"file \xff".decode(errors="surrogateescape")))
    assert text.encode() == b"OSError: file \\udcff"


@pytest.mark.parametrize(
    ("exc", "outage"),
    [
        (ConnectionError("refused"), True),
        (TimeoutError("timed out"), True),
        (BusyLoadingError("loading"), True),
        (OSError("network unreachable"), True),
        (OutOfMemoryError("command not allowed when used memory > 'maxmemory'."), True),
        (ReadOnlyError("You can't write against a read only replica."), True),
        (ResponseError("MISCONF Redis is configured to save RDB snapshots"), True),
        (MasterDownError("Link with MASTER is down"), True),
        (ResponseError("NOREPLICAS Not enough good replicas to write."), True),
        (ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"), False),
        (ResponseError("NOGROUP No such key"), False),
        (NoPermissionError("this user has no permissions"), False),
        (ResponseError("BUSY Redis is busy running a script."), True),
        (ResponseError("BUSYGROUP Consumer Group name already exists"), False),
        (AuthenticationError("invalid username-password pair"), False),
        (AuthenticationError("Authentication required."), False),
        (ValueError("not redis"), False),
    ],
)
def test_outage_errors_are_the_ones_that_pass_by_themselves(
    exc: BaseException, outage: bool
) -> None:
    assert is_outage(exc) is outage


def test_refused_credentials_are_never_waited_out() -> None:
    refused = AuthenticationError("invalid username-password pair")
    with pytest.raises(AuthenticationError):
        Outage(logging.getLogger("t"), "loop").failed(refused)


def test_an_unexpected_error_is_logged_once_per_streak_with_a_growing_pause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    trouble = Outage(logging.getLogger("t"), "queue=q reclaim", first_delay_s=0.1, cap_s=0.3)
    pauses = [trouble.unexpected(KeyError("min")) for _ in range(4)]
    trouble.recovered()
    assert pauses == [0.1, 0.2, 0.3, 0.3]
    assert [r.getMessage() for r in caplog.records] == [
        "queue=q reclaim: failed, going on after a pause: KeyError: 'min'",
        caplog.records[1].getMessage(),
    ]
    assert caplog.records[0].exc_info is not None
    assert caplog.records[1].getMessage().startswith("queue=q reclaim: working again after")
