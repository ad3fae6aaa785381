"""Starting, watching and stopping the consumer processes under test."""

from __future__ import annotations

import compileall
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from bench.rig import GROUP, BenchError

ROOT: Final = Path(__file__).resolve().parent.parent
APP: Final = "bench.app:registry"
PACKAGES: Final = ("streams", "api", "consumers", "godo", "bench")


def compile_sources(root: Path = ROOT, packages: Sequence[str] = PACKAGES) -> None:
    """Write the project's bytecode, as installing a package does (redis-py's already is).

    Under PYTHONDONTWRITEBYTECODE (or in a fresh checkout) every godo-streams process would
    otherwise compile its modules from source at start: about 0.1 s of CPU that the raw
    loop, which imports only installed packages, never pays.
    """
    for package in packages:
        compileall.compile_dir(root / package, quiet=1)


def _env(url: str, extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMS_")}
    pythonpath = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.update({"REDIS_URL": url, "PYTHONPATH": pythonpath, "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


class Consumer:
    """One consumer process (godo-streams worker or baseline loop) and its log file."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self.started_ns = time.time_ns()
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )

    def check_alive(self) -> None:
        """Raise BenchError with the log's tail if the process has exited."""
        code = self.process.poll()
        if code is not None:
            tail = self.log.read_text(errors="replace")[-2000:]
            raise BenchError(f"consumer exited early with code {code}:\n{tail}")

    def peak_rss_bytes(self) -> int:
        """Peak RSS so far: the kernel's high-water mark (Linux /proc; 0 elsewhere)."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return 0
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        return 0

    def cpu_s(self) -> float:
        """User plus system CPU seconds used so far (Linux /proc; 0 elsewhere)."""
        try:
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        except OSError:
            return 0.0
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self, timeout_s: float = 15.0) -> int:
        """SIGTERM, wait up to timeout_s, then SIGKILL; return the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout_s)
        return int(self.process.returncode)


def godo_worker(url: str, prefix: str, log: Path, **extra: str) -> Consumer:
    """`python -m streams worker default` with default settings and the bench registry."""
    env = _env(url, {"STREAMS_PREFIX": prefix, "STREAMS_APP": APP, **extra})
    argv = [sys.executable, "-m", "streams", "worker", "default"]
    return Consumer(argv, env, log)


def baseline_worker(url: str, stream: str, log: Path, max_s: float, **extra: str) -> Consumer:
    argv = [
        sys.executable,
        "-m",
        "bench.baseline_worker",
        url,
        stream,
        GROUP,
        "--max-s",
        str(max_s),
    ]
    return Consumer(argv, _env(url, extra), log)


def spawn(
    impl: str, url: str, prefix: str, stream: str, log: Path, max_s: float, **extra: str
) -> Consumer:
    """Start the consumer of impl ('baseline' or 'godo') on one workload run's keys."""
    if impl == "godo":
        return godo_worker(url, prefix, log, **extra)
    return baseline_worker(url, stream, log, max_s, **extra)
