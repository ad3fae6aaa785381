"""`python -m bench`: run the benchmark, print the table, write JSON and Markdown results."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.config import DEFAULT_WORKLOADS, WORKLOADS, BenchConfig
from bench.report import caption, markdown_table, summarise, text_table
from bench.runner import Results, run_all


def _parser(defaults: BenchConfig) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench", description="godo-streams vs a raw redis-py loop"
    )
    add = p.add_argument
    add("--messages", type=int, default=defaults.messages, help="W1/W2 messages (%(default)s)")
    add("--repeats", type=int, default=defaults.repeats, help="runs per workload and side")
    add("--latency-s", type=float, default=defaults.latency_s, help="W3 duration")
    add("--latency-rate", type=int, default=defaults.latency_rate, help="W3 messages per second")
    add("--api-s", type=float, default=defaults.api_s, help="W5 and W7 duration")
    add("--api-connections", type=int, default=defaults.api_connections)
    add("--api-backlog", type=int, default=defaults.api_backlog, help="W5 and W7 backlog to drain")
    add(
        "--only",
        default=",".join(DEFAULT_WORKLOADS),
        help="subset of w1,w2,w2r,w3,w5,w6,w7 (W4 comes with W1; W6, on a local cluster, only when named)",
    )
    add("--results-dir", type=Path, default=defaults.results_dir)
    add(
        "--worker-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the godo-streams worker, e.g. STREAMS_BATCH_SIZE=250",
    )
    add("--quick", action="store_true", help="5,000 messages, 1 run, 2 s for W3, W5 and W7")
    return p


def parse_args(argv: list[str] | None = None) -> BenchConfig:
    """Turn the command line into a BenchConfig; a bad option exits 2 with one line."""
    p = _parser(BenchConfig())
    args = p.parse_args(argv)
    only = tuple(w.strip().lower() for w in args.only.split(",") if w.strip())
    unknown = sorted(set(only) - set(WORKLOADS))
    sizes = (args.messages, args.repeats, args.latency_s, args.latency_rate, args.api_s)
    if unknown or not only or any(v <= 0 for v in sizes):
        p.error(f"unknown workload(s) {unknown}" if unknown else "nothing to run, or a size <= 0")
    quick = {"messages": 5_000, "repeats": 1, "latency_s": 2.0, "api_s": 2.0, "api_backlog": 20_000}
    if args.quick:
        vars(args).update(quick)
    return BenchConfig(
        messages=args.messages,
        repeats=args.repeats,
        latency_s=args.latency_s,
        latency_rate=args.latency_rate,
        api_s=args.api_s,
        api_connections=args.api_connections,
        api_backlog=args.api_backlog,
        workloads=only,
        extra_env=_pairs(p, args.worker_env),
        results_dir=args.results_dir,
    )


def _pairs(parser: argparse.ArgumentParser, pairs: list[str]) -> dict[str, str]:
    if any("=" not in pair for pair in pairs):
        parser.error("--worker-env takes KEY=VALUE")
    return dict(pair.split("=", 1) for pair in pairs)


def _log(line: str) -> None:
    print(line, flush=True)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} x {cpu}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def _git_commit() -> str:
    git = shutil.which("git")
    if git is None:
        return "unknown"
    try:
        out = subprocess.run(
            [git, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=Path(__file__).parent,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def build_document(
    cfg: BenchConfig,
    results: Results,
    server: str,
    load_start: tuple[float, ...],
    started: datetime,
) -> dict[str, Any]:
    meta = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{machine()}, {server}",
        "commit": _git_commit(),
        "load_start": list(load_start),
        "load_per_run": [r["load1"] for r in results.runs],
        "config": {k: v for k, v in vars(cfg).items() if k != "results_dir"}
        | {"workloads": list(cfg.workloads)},
        "skipped": results.skipped,
    }
    return {"meta": meta, "rows": summarise(results.samples), "runs": results.runs}


def write_results(doc: dict[str, Any], results_dir: Path) -> tuple[Path, Path]:
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    markdown = markdown_table(doc["rows"], caption(doc["meta"]))
    skipped = "".join(f"\n- {k}: {v}" for k, v in doc["meta"]["skipped"].items())
    markdown += f"\nSkipped:{skipped}\n" if skipped else ""
    json_path, md_path = results_dir / f"bench-{stamp}.json", results_dir / f"bench-{stamp}.md"
    json_path.write_text(json.dumps(doc, indent=2))
    md_path.write_text(markdown)
    (results_dir / "latest.json").write_text(json_path.read_text())
    (results_dir / "latest.md").write_text(markdown)
    return json_path, md_path


def main(argv: list[str] | None = None) -> None:
    cfg = parse_args(argv)
    started = datetime.now(UTC)
    load_start = os.getloadavg()
    _log(
        f"godo-streams benchmark: {machine()}; load average {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}"
    )
    t0 = time.monotonic()
    results, server = asyncio.run(run_all(cfg, _log))
    doc = build_document(cfg, results, server, load_start, started)
    _log("")
    _log(caption(doc["meta"]))
    _log(text_table(doc["rows"]))
    json_path, md_path = write_results(doc, cfg.results_dir)
    _log(f"\nwrote {json_path} and {md_path} ({time.monotonic() - t0:.0f} s)")
    if any("error" in r for r in results.runs):
        sys.exit(1)
