"""The benchmark harness runs end to end in a tiny configuration and writes a well-formed table."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

TINY = [
    "--messages", "500", "--repeats", "1", "--latency-s", "1", "--latency-rate", "100",
    "--api-s", "1", "--api-connections", "4", "--api-backlog", "500",
]  # fmt: skip


@pytest.mark.timeout(180)
def test_tiny_benchmark_writes_a_table_of_every_workload(tmp_path: Path) -> None:
    # Given a tiny configuration, when the documented command runs
    done = subprocess.run(
        [sys.executable, "-m", "bench", *TINY, "--results-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=170,
    )

    # Then it succeeds, prints the table and writes JSON and Markdown with one row per metric
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "godo-streams median [min-max]" in done.stdout
    doc = json.loads((tmp_path / "latest.json").read_text())
    rows = {row["key"]: row for row in doc["rows"]}
    for key in (
        "w1_from_start",
        "w1_from_first",
        "w2_single",
        "w2_batch",
        "w3_p99_ms",
        "w4_rss_mb",
    ):
        assert rows[key]["baseline"]["n"] == 1
        assert rows[key]["baseline"]["median"] > 0
    if importlib.util.find_spec("streams.commands.worker") is not None:
        assert rows["w1_from_start"]["godo"]["median"] > 0
        assert rows["w1_from_start"]["ratio"] > 0
    if importlib.util.find_spec("godo.commands.api") is not None:
        assert rows["w5_rps"]["godo"]["median"] > 0
        assert rows["w5_p99_ms_health"]["godo"]["n"] == 1
        assert rows["w7_p99_ms_state"]["godo"]["n"] == 1
        assert rows["w7_errors"]["godo"]["median"] == 0
    assert all("error" not in run for run in doc["runs"])
    assert len(doc["meta"]["load_per_run"]) == len(doc["runs"])
    markdown = (tmp_path / "latest.md").read_text()
    table = [line for line in markdown.splitlines() if line.startswith("|")]
    assert len(table) == 2 + len(doc["rows"])
    assert "load average" in markdown
