"""Child processes of a run: private redis-servers (ports 7500-7520), the emulator, pollers.

The run restarts and flushes its Redis, so it never uses the shared one on 6379.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis

HOST = "127.0.0.1"
REDIS_PORTS = range(7500, 7521)


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
    return port


def wait_until(check: Callable[[], object], what: str, timeout_s: float = 60.0) -> None:
    """Poll ``check()`` until it is truthy (a child's startup has no event to await)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


@dataclass
class RedisServer:
    """A redis-server of our own that keeps nothing on disk (a restart loses everything)."""

    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = ["redis-server", "--port", str(self.port), "--bind", HOST]
        args += ["--dir", str(self.workdir), "--save", "", "--appendonly", "no"]
        with (self.workdir / "server.log").open("ab") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis(host=HOST, port=self.port, socket_timeout=2)
        try:
            wait_until(client.ping, f"redis-server on {self.port}", 20)
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        """Stop and start again: without persistence, every key is gone."""
        self.stop()
        self.start()


def start_redis(workdir: Path, taken: set[int]) -> RedisServer:
    """A redis-server on the first free port of 7500-7520."""
    for port in REDIS_PORTS:
        if port not in taken and port_free(port):
            server = RedisServer(port, workdir / f"redis-{port}")
            server.start()
            return server
    raise RuntimeError(f"no free port in {REDIS_PORTS} for a private redis-server")


def interrupt(process: subprocess.Popen[bytes], timeout_s: float = 40) -> None:
    """Ctrl-C, then kill if it does not stop."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
