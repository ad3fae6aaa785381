"""Helpers for the Godo application's tests."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from redis.asyncio import Redis

from streams import Context, Keys


def make_context(redis: Redis, prefix: str, queue: str, type_: str, id_: str = "1-0") -> Context:
    """A handler context as a worker would build it, for calling handlers directly."""
    return Context(
        queue=queue,
        id=id_,
        type=type_,
        attempt=1,
        key=None,
        headers={},
        published_ms=None,
        redis=redis,
        keys=Keys(prefix),
    )


class FlakyWebhook:
    """A local HTTP endpoint that answers 503 to the first `failures` POSTs, then 204."""

    def __init__(self, failures: int = 2) -> None:
        self.failures = failures
        self.bodies: list[bytes] = []
        self.hosts: list[str | None] = []  # the Host header of each call
        self._lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with hook._lock:
                    hook.bodies.append(body)
                    hook.hosts.append(self.headers.get("Host"))
                    failing = len(hook.bodies) <= hook.failures
                self.send_response(503 if failing else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def calls(self) -> int:
        with self._lock:
            return len(self.bodies)

    def __enter__(self) -> FlakyWebhook:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()
