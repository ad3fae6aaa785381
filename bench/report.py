"""Summaries of the repeated runs: the table (text and Markdown) and the JSON document."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from bench.metrics import METRICS

Samples = Mapping[str, Mapping[str, Sequence[float]]]  # impl -> metric key -> values
HEADER = (
    "workload",
    "metric",
    "baseline median [min-max]",
    "godo-streams median [min-max]",
    "ratio",
    "target",
    "met",
)


def summarise(samples: Samples) -> list[dict[str, Any]]:
    """One row per metric that has values: medians, min-max, ratio and target."""
    rows: list[dict[str, Any]] = []
    for metric in METRICS:
        stats = {
            impl: _stats(samples.get(impl, {}).get(metric.key, ())) for impl in ("baseline", "godo")
        }
        if not any(stats.values()):
            continue
        base, godo = stats["baseline"], stats["godo"]
        ratio = godo["median"] / base["median"] if base and godo and base["median"] else None
        met = metric.met(godo["median"], base["median"] if base else None) if godo else None
        rows.append(
            {
                "key": metric.key,
                "workload": metric.workload,
                "label": metric.label,
                "unit": metric.unit,
                "higher_is_better": metric.higher_is_better,
                "baseline": base,
                "godo": godo,
                "ratio": ratio,
                "target": metric.target,
                "met": met,
            }
        )
    return rows


def _stats(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def _fmt(value: float, unit: str) -> str:
    if unit in ("msg/s", "req/s", "msgs"):
        return f"{value:,.0f}"
    if unit in ("ms", "us"):
        return f"{value:.2f}"
    return f"{value:.1f}" if unit else f"{value:g}"


def _cell(stats: Mapping[str, float], metric_unit: str) -> str:
    if not stats:
        return "-"
    med, lo, hi = (_fmt(stats[k], metric_unit) for k in ("median", "min", "max"))
    return f"{med} [{lo}-{hi}]"


def table_rows(rows: Sequence[Mapping[str, Any]]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for row in rows:
        unit = row["unit"]
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}"
        met = {True: "yes", False: "NO", None: "-"}[row["met"]]
        label = f"{row['label']} ({unit})" if unit else row["label"]
        out.append(
            (
                row["workload"],
                label,
                _cell(row["baseline"], unit),
                _cell(row["godo"], unit),
                ratio,
                row["target"] or "-",
                met,
            )
        )
    return out


def text_table(rows: Sequence[Mapping[str, Any]]) -> str:
    body = [HEADER, *table_rows(rows)]
    widths = [max(len(r[i]) for r in body) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in body]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: Sequence[Mapping[str, Any]], caption: str) -> str:
    lines = [caption, "", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(r) + " |" for r in table_rows(rows)]
    return "\n".join(lines) + "\n"


def caption(meta: Mapping[str, Any]) -> str:
    loads = meta["load_per_run"]
    cfg = meta["config"]
    load_range = f"{min(loads):.2f}-{max(loads):.2f}" if loads else "n/a"
    return (
        f"{meta['date']} on {meta['machine']}; {cfg['repeats']} runs each, alternating; "
        f"{cfg['messages']:,} messages; W3 {cfg['latency_rate']} msg/s for {cfg['latency_s']:g} s. "
        f"The cores were shared with other jobs: 1-min load average {meta['load_start'][0]:.2f} at the start, "
        f"{load_range} at the start of each run. Ratio = godo-streams / baseline (median); "
        f"for ms, us and MB lower is better."
    )
