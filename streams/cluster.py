"""Start a private Redis Cluster on loopback ports: for `streams dev --cluster`, tests, benchmarks.

Every node is a LocalServer with cluster mode on. The slots are shared out with
CLUSTER ADDSLOTSRANGE and the nodes introduced with CLUSTER MEET, from Python, so only the
server binary is needed (no redis-cli). Replicas follow their master with CLUSTER REPLICATE.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import redis as sync_redis
from redis.exceptions import RedisError

from streams.server import LocalServer, ServerError, free_port

SLOTS: Final = 16_384
# Short, so a test's failover happens in seconds; a real cluster uses 15 s.
NODE_TIMEOUT_MS: Final = 1_000
BUS_OFFSET: Final = 10_000


def slot_ranges(masters: int) -> list[tuple[int, int]]:
    """Split the 16,384 slots into masters contiguous, nearly equal, inclusive ranges."""
    bounds = [i * SLOTS // masters for i in range(masters + 1)]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(masters)]


def _client(port: int) -> sync_redis.Redis:
    return sync_redis.Redis(port=port, socket_timeout=5, decode_responses=True)


def _node_port() -> int:
    """A free port whose cluster bus port (port + 10,000) is free too."""
    while True:
        port = free_port()
        if port + BUS_OFFSET > 65_535:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind(("127.0.0.1", port + BUS_OFFSET))
        except OSError:
            continue
        return port


def _cmd(port: int, *args: object) -> Any:
    """Send one command to the node on port (redis-py leaves execute_command untyped)."""
    with _client(port) as client:
        return client.execute_command(*args)


def _wait(check: Callable[[], bool], what: str, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, RedisError):
            pass  # a node still starting or failing over: ask again
        time.sleep(0.05)
    raise ServerError(f"local cluster: {what} not reached within {deadline_s:g}s")


class LocalCluster:
    """masters cluster nodes, each with `replicas` replicas, stopped (by pid) on exit."""

    def __init__(
        self, *, masters: int = 3, replicas: int = 0, node_timeout_ms: int = NODE_TIMEOUT_MS
    ) -> None:
        if masters < 1 or replicas < 0:
            raise ServerError("a cluster needs at least one master and no negative replica count")
        self.masters = masters
        self.replicas = replicas
        self.node_timeout_ms = node_timeout_ms
        self.dir = Path(tempfile.mkdtemp(prefix="streams-cluster-"))
        self.nodes: list[LocalServer] = []

    @property
    def url(self) -> str:
        """A URL naming the first node; the client discovers the others from it."""
        return self.nodes[0].url

    @property
    def ports(self) -> list[int]:
        return [node.port for node in self.nodes]

    def _node(self) -> LocalServer:
        node = LocalServer(port=_node_port())
        node.extra_args = (
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            str(self.dir / f"nodes-{node.port}.conf"),
            "--cluster-node-timeout",
            str(self.node_timeout_ms),
            "--dir",
            str(self.dir),
        )
        return node

    def start(self, deadline_s: float = 20.0) -> LocalCluster:
        """Start every node, share the slots, join them, and wait for cluster_state:ok."""
        try:
            for _ in range(self.masters * (1 + self.replicas)):
                self.nodes.append(self._node().start())
            self._form(deadline_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _form(self, deadline_s: float) -> None:
        ids = [_cmd(port, "CLUSTER MYID") for port in self.ports]
        for epoch, port in enumerate(self.ports, start=1):
            _cmd(port, "CLUSTER SET-CONFIG-EPOCH", epoch)
        for port, (first, last) in zip(self.ports, slot_ranges(self.masters), strict=False):
            _cmd(port, "CLUSTER ADDSLOTSRANGE", first, last)
        for port in self.ports[1:]:
            _cmd(port, "CLUSTER MEET", "127.0.0.1", self.ports[0])
        _wait(self._all_known, "every node knowing the others", deadline_s)
        for n, port in enumerate(self.ports[self.masters :]):
            _cmd(port, "CLUSTER REPLICATE", ids[n % self.masters])
        _wait(self.healthy, "cluster_state:ok on every node", deadline_s)

    def _all_known(self) -> bool:
        for port in self.ports:
            with _client(port) as client:
                if int(client.cluster("INFO")["cluster_known_nodes"]) != len(self.nodes):
                    return False
        return True

    def healthy(self) -> bool:
        """True when every running node says cluster_state:ok and every replica is in sync."""
        for node in self.running():
            with _client(node.port) as client:
                if client.cluster("INFO")["cluster_state"] != "ok":
                    return False
                info = client.info("replication")
            if info["role"] == "slave" and info.get("master_link_status") != "up":
                return False
        return True

    def wait_healthy(self, deadline_s: float = 20.0) -> None:
        _wait(self.healthy, "cluster_state:ok on every node", deadline_s)

    def running(self) -> Iterator[LocalServer]:
        return (n for n in self.nodes if n.process is not None and n.process.poll() is None)

    def master_of(self, slot: int) -> LocalServer:
        """The node currently serving slot, as the first running node sees it."""
        for first, last, master, *_ in _cmd(next(self.running()).port, "CLUSTER SLOTS"):
            if int(first) <= slot <= int(last):
                port = int(master[1])
                return next(n for n in self.nodes if n.port == port)
        raise ServerError(f"local cluster: slot {slot} is not served")

    def stop(self) -> None:
        """Stop every node and delete the cluster's directory."""
        for node in self.nodes:
            node.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def migrate_slot(source: LocalServer, target: LocalServer, slot: int, batch: int = 100) -> int:
    """Move one slot and its keys from source to target, as redis-cli --cluster reshard does.

    Returns how many keys moved. Clients see ASK redirects during the move, MOVED after it.
    """
    src, dst = source.port, target.port
    src_id, dst_id = _cmd(src, "CLUSTER MYID"), _cmd(dst, "CLUSTER MYID")
    _cmd(dst, "CLUSTER SETSLOT", slot, "IMPORTING", src_id)
    _cmd(src, "CLUSTER SETSLOT", slot, "MIGRATING", dst_id)
    moved = 0
    while keys := _cmd(src, "CLUSTER GETKEYSINSLOT", slot, batch):
        _cmd(src, "MIGRATE", "127.0.0.1", dst, "", 0, 5_000, "KEYS", *keys)
        moved += len(keys)
    for port in (dst, src):
        _cmd(port, "CLUSTER SETSLOT", slot, "NODE", dst_id)
    return moved
