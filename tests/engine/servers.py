"""Private redis-server processes for tests: a lone server and a three-master cluster.

The shared Redis (``REDIS_URL``) must never be flushed or restarted, so tests that need to
do either (NOSCRIPT fallback) or need a cluster start their own servers on ports 7100-7120.
``REDIS_SERVER`` names the server binary to start (default ``redis-server``; for example
``valkey-server``), and ``REDIS_CLI`` the client that forms the cluster (default
``redis-cli``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import redis

HOST = "127.0.0.1"
CLUSTER_BASES = (7100, 7103, 7106, 7109, 7112)
"""First port of each cluster we may start (three consecutive ports each)."""
LONE_PORTS = range(7115, 7121)
STARTUP_TIMEOUT_S = 20.0
SERVER = os.environ.get("REDIS_SERVER") or "redis-server"
CLI = os.environ.get("REDIS_CLI") or "redis-cli"


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _all_free(ports: Iterable[int]) -> bool:
    return all(_port_free(p) for p in ports)


def _wait_until(check: Callable[[], object], what: str) -> None:
    """Poll ``check()`` until it is true; startup of a child process has no event to await."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (redis.ConnectionError, redis.ResponseError, OSError) as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}: {last!r}")


@dataclass
class Servers:
    """redis-server children started by this test session, stopped together."""

    workdir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)

    def start(self, port: int, *extra: str) -> None:
        """Start one redis-server on ``port`` that keeps nothing on disk, and wait for it."""
        if shutil.which(SERVER) is None:
            raise RuntimeError(f"{SERVER} is not installed (apt-get install redis-server)")
        node_dir = self.workdir / str(port)
        node_dir.mkdir(parents=True, exist_ok=True)
        args = [SERVER, "--port", str(port), "--bind", HOST, "--dir", str(node_dir)]
        args += ["--save", "", "--appendonly", "no", "--protected-mode", "no", *extra]
        with (node_dir / "server.log").open("wb") as log:
            self.procs.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT))
        self.ports.append(port)
        client = redis.Redis(host=HOST, port=port, socket_timeout=2)
        try:
            _wait_until(client.ping, f"redis-server on port {port}")
        finally:
            client.close()

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()


def start_lone(servers: Servers) -> int:
    """Start a single redis-server on a free port of our range; returns the port."""
    for port in LONE_PORTS:
        if _port_free(port):
            servers.start(port)
            return port
    raise RuntimeError(f"no free port in {LONE_PORTS} for a private redis-server")


def _cluster_ok(ports: list[int]) -> bool:
    for port in ports:
        client = redis.Redis(host=HOST, port=port, decode_responses=True, socket_timeout=2)
        try:
            info = client.cluster("INFO")
            slots = client.cluster("SLOTS")
        finally:
            client.close()
        # redis-py parses CLUSTER INFO into a dict.
        if info.get("cluster_state") != "ok" or len(slots) != len(ports):
            return False
    return True


def start_cluster(servers: Servers) -> list[int]:
    """Start a three-master Redis Cluster (no replicas); returns its ports once it is ok."""
    for base in CLUSTER_BASES:
        ports = [base, base + 1, base + 2]
        # The cluster bus listens on port + 10000.
        if _all_free([*ports, *(p + 10000 for p in ports)]):
            break
    else:
        raise RuntimeError(f"no three free ports for a cluster from {CLUSTER_BASES}")
    for port in ports:
        servers.start(
            port,
            "--cluster-enabled", "yes",
            "--cluster-config-file", f"nodes-{port}.conf",
            "--cluster-node-timeout", "5000",
        )  # fmt: skip
    nodes = [f"{HOST}:{p}" for p in ports]
    subprocess.run(
        [CLI, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    _wait_until(lambda: _cluster_ok(ports), "cluster_state:ok on every node")
    return ports
