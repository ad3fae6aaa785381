"""A user's mistake on the command line or in the environment: one line, exit 2, no traceback.

These run `streams.cli.main` in this process (fast, so every case can be listed); the
integration tier runs the same mistakes through real `streams` processes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.cli import main

PASSWORD = "pw-7c1ee0d2"  # noqa: S105  # a test value; must never be printed
UNREACHABLE_URL = f"redis://:{PASSWORD}@127.0.0.1:1/0"


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[object, str, str]:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    out, err = capsys.readouterr()
    return stopped.value.code, out, err


def assert_one_line_usage_error(code: object, out: str, err: str, fragment: str) -> None:
    assert code == 2, err
    assert out == ""
    assert err.startswith("streams: error: "), err
    assert err.count("\n") == 1, err
    assert fragment in err
    assert PASSWORD not in err


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A valid REDIS_URL nobody listens on, and tmp_path importable for test modules."""
    monkeypatch.setenv("REDIS_URL", UNREACHABLE_URL)
    for variable in ("STREAMS_APP", "STREAMS_SCHEDULE", "STREAMS_DEMO", "LOG_LEVEL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "raises_on_import.py").write_text("raise RuntimeError('boom at import')\n")
    (tmp_path / "bad_syntax.py").write_text("def broken(:\n")
    (tmp_path / "not_registries.py").write_text(
        "number = 3\n"
        "def needs_an_argument(x):\n    return x\n"
        "def fails():\n    raise KeyError('no registry today')\n"
    )
    return tmp_path


APP_SPECS = [
    ("nocolon", "is not module:attribute"),
    ("pkg:", "is not module:attribute"),
    (":attr", "is not module:attribute"),
    ("a:b:c", "is not module:attribute"),
    ("no_such_module_xyz:registry", "cannot import 'no_such_module_xyz'"),
    ("raises_on_import:registry", "RuntimeError: boom at import"),
    ("bad_syntax:registry", "SyntaxError"),
    ("not_registries:missing", "has no attribute 'missing'"),
    ("not_registries:number", "is a int, not a streams.Registry"),
    ("not_registries:needs_an_argument", "TypeError"),
    ("not_registries:fails", "KeyError: 'no registry today'"),
]


@pytest.mark.parametrize(("spec", "fragment"), APP_SPECS)
def test_a_bad_streams_app_is_one_line_naming_the_variable(
    env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    spec: str,
    fragment: str,
) -> None:
    monkeypatch.setenv("STREAMS_APP", spec)

    code, out, err = run_main(["publish", "default", "ping", "{}"], capsys)

    assert_one_line_usage_error(code, out, err, fragment)
    assert "STREAMS_APP" in err


@pytest.mark.parametrize(("spec", "fragment"), APP_SPECS[:6])
def test_a_bad_app_option_is_one_line_naming_the_option(
    env: Path, capsys: pytest.CaptureFixture[str], spec: str, fragment: str
) -> None:
    code, out, err = run_main(["worker", "--app", spec], capsys)

    assert_one_line_usage_error(code, out, err, fragment)
    assert "--app" in err


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("nocolon", "is not module:attribute"),
        ("raises_on_import:jobs", "RuntimeError"),
        ("not_registries:needs_an_argument", "TypeError"),
        ("not_registries:number", "not a sequence of streams Jobs"),
    ],
)
def test_a_bad_schedule_is_one_line(
    env: Path, capsys: pytest.CaptureFixture[str], spec: str, fragment: str
) -> None:
    code, out, err = run_main(["scheduler", "--schedule", spec], capsys)

    assert_one_line_usage_error(code, out, err, fragment)
    assert "--schedule" in err


@pytest.mark.parametrize(
    "url",
    [
        f"redis://:{PASSWORD}@redis.invalid:6379/0?socket_timeout=abc",
        f"redis://:{PASSWORD}@redis.invalid:6379/0?foo=bar",
        f"http://:{PASSWORD}@redis.invalid:6379/0",
        f"redis://:{PASSWORD}@redis.invalid:6379/db1",
        f"redis://:{PASSWORD}@redis.invalid:99999/0",
        f"redis://:{PASSWORD}@redis.invalid:0/0",
    ],
)
@pytest.mark.parametrize(
    "command", [["status"], ["dead", "list", "ml"], ["publish", "default", "ping", "{}"]]
)
def test_a_bad_redis_url_is_one_line_naming_it_without_the_password(
    env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
    command: list[str],
) -> None:
    monkeypatch.setenv("REDIS_URL", url)

    code, out, err = run_main(command, capsys)

    assert_one_line_usage_error(code, out, err, "REDIS_URL: ")
