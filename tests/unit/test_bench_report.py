"""The benchmark's summary: medians, ranges, ratios to the baseline and targets."""

from __future__ import annotations

from bench.report import markdown_table, summarise


def test_summary_gives_median_range_and_ratio_to_baseline() -> None:
    samples = {
        "baseline": {"w1_from_start": [100.0, 120.0, 110.0]},
        "godo": {"w1_from_start": [60.0, 90.0, 70.0]},
    }

    [row] = summarise(samples)

    assert row["baseline"] == {"median": 110.0, "min": 100.0, "max": 120.0, "n": 3}
    assert row["godo"]["median"] == 70.0
    assert round(row["ratio"], 3) == round(70 / 110, 3)
    assert row["met"] is True  # 0.64 >= 0.60


def test_absolute_targets_are_checked_without_a_baseline() -> None:
    [row] = summarise({"godo": {"w5_p99_ms_health": [12.0, 80.0, 70.0]}})

    assert row["ratio"] is None
    assert row["met"] is False  # median 70 ms > 50 ms


def test_metrics_without_samples_are_left_out_of_the_table() -> None:
    rows = summarise({"baseline": {"w2_single": [1.0]}})

    table = markdown_table(rows, "caption")

    assert [r["key"] for r in rows] == ["w2_single"]
    assert table.count("\n| W2 publish") == 1
