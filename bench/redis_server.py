"""The benchmark's own ``redis-server``: a free loopback port, no persistence.

Every table of ``make bench`` flushes Redis and resets its statistics, and the backlog
table reads ``used_memory``, so none of it may run on a server anyone else uses.
``python -m bench.redis_server PIDFILE [PORT]`` starts one in the background and prints
``PORT=<n>`` (``bench/run.sh`` stops it with the pid file); ``dedicated()`` is the same as
a context manager.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

FLAGS = ("--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
"""Loopback only; no RDB snapshot or AOF, whose writes would land inside the timings."""


def free_port() -> int:
    """A TCP port nothing listens on right now (the kernel's pick)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(pidfile: Path, port: int | None = None) -> int:
    """Start ``redis-server`` in the background; returns its port once it answers."""
    port = port or free_port()
    probe = Redis(host="127.0.0.1", port=port, socket_timeout=1)
    try:
        probe.ping()
    except RedisConnectionError:
        pass
    else:
        raise SystemExit(f"port {port} already answers; the bench needs a Redis of its own")
    argv = ["redis-server", "--port", str(port), *FLAGS, "--daemonize", "yes"]
    subprocess.run([*argv, "--pidfile", str(pidfile), "--logfile", ""], check=True)
    deadline = time.monotonic() + 10
    while True:
        try:
            probe.ping()
            break
        except RedisConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    probe.close()
    return port


def stop(pidfile: Path) -> None:
    """Stop the server ``start`` wrote ``pidfile`` for (only that one)."""
    if not pidfile.exists():
        return
    pid = int(pidfile.read_text().strip())
    subprocess.run(["kill", str(pid)], check=False)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)


@contextmanager
def dedicated() -> Iterator[str]:
    """A private Redis for the length of the block; yields its URL."""
    with tempfile.TemporaryDirectory(prefix="corral-bench-") as tmp:
        pidfile = Path(tmp) / "redis.pid"
        port = start(pidfile)
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            stop(pidfile)


if __name__ == "__main__":
    wanted = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] else None
    print(f"PORT={start(Path(sys.argv[1]), wanted)}")
