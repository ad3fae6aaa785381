"""The benchmark's command line: sizes, subsets and one-line errors."""

from __future__ import annotations

import pytest

from bench.cli import parse_args


def test_quick_run_is_small_and_keeps_the_chosen_workloads() -> None:
    cfg = parse_args(["--quick", "--only", "w1,w3", "--worker-env", "STREAMS_BATCH_SIZE=250"])

    assert (cfg.messages, cfg.repeats, cfg.latency_s) == (5_000, 1, 2.0)
    assert cfg.workloads == ("w1", "w3")
    assert cfg.extra_env == {"STREAMS_BATCH_SIZE": "250"}


@pytest.mark.parametrize(
    "argv", [["--only", "w9"], ["--only", ","], ["--messages", "0"], ["--worker-env", "NOEQUALS"]]
)
def test_bad_options_exit_2_with_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args(argv)

    assert exc.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("python -m bench: error:")
