from __future__ import annotations

import pytest

from godo.commands.api import DEFAULT_FORWARDED, forwarded_allow_ips
from streams import ConfigError


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", DEFAULT_FORWARDED),
        ("  ", DEFAULT_FORWARDED),
        ("10.0.0.1", "10.0.0.1"),
        (" 10.0.0.0/8 , fd12::/16 ", "10.0.0.0/8,fd12::/16"),
        ("*", "*"),
    ],
)
def test_trusted_proxies_are_read_from_the_environment(raw: str, expected: str) -> None:
    assert forwarded_allow_ips({"STREAMS_API_FORWARDED_ALLOW_IPS": raw}) == expected


def test_by_default_only_loopback_is_trusted() -> None:
    assert forwarded_allow_ips({}) == "127.0.0.1,::1"


@pytest.mark.parametrize("raw", ["proxy.railway.internal", "10.0.0.1/8", "10.0.0.300"])
def test_a_bad_entry_is_a_one_line_error_naming_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError) as info:
        forwarded_allow_ips({"STREAMS_API_FORWARDED_ALLOW_IPS": raw})
    assert info.value.variable == "STREAMS_API_FORWARDED_ALLOW_IPS"
    assert "\n" not in str(info.value)
