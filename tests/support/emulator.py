"""The emulator as a user runs it: ``python -m infra.local`` in a subprocess, its own env."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import redis

from tests.conftest import SHARED_REDIS_URL

ROOT = Path(__file__).resolve().parents[2]
STARTUP_S = 90.0
ADMIN = {"Authorization": "Bearer local-admin"}
ACME = {"Authorization": "Bearer local-acme"}
GLOBEX = {"Authorization": "Bearer local-globex"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass
class Running:
    """A running emulator: its URL, its output so far, and an HTTP client."""

    url: str
    prefix: str
    redis_url: str
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=15)

    def text(self) -> str:
        return "".join(self.output)


def _pump(process: subprocess.Popen[str], into: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        into.append(line)


def wait_until(check: Callable[[], Any], what: str, timeout_s: float = 60.0) -> Any:
    """Poll ``check()`` until it returns something truthy (the system runs on its own)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def child_env(**extra: str) -> dict[str, str]:
    # The child inherits PATH and the like, but none of our own CORRAL_ settings.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CORRAL_", "AWS_"))}
    env.pop("REDIS_URL", None)
    return {**env, **extra}


@contextmanager
def emulator(
    redis_url: str = SHARED_REDIS_URL,
    command: Sequence[str] = (sys.executable, "-m", "infra.local"),
    cwd: Path = ROOT,
    registry: str = "tests.support.testqueues:registry",
    **env: str,
) -> Iterator[Running]:
    """Start ``python -m infra.local`` (or ``command``) with the test queues (``registry=""``:
    the shipped ones); stop it with Ctrl-C after."""
    port = free_port()
    prefix = f"e2e{uuid4().hex[:10]}"
    defaults = {
        "CORRAL_LOCAL_REGISTRY": registry,
        # Any free port for the emulated AWS: tests run side by side.
        "CORRAL_LOCAL_AWS_PORT": "0",
        "CORRAL_LOCAL_SCHEDULE_S": "2",
        "CORRAL_LOCAL_RECONCILE_GRACE_MS": "1000",
    }
    # ``env`` may override the defaults (the deployment's queues, the template's schedule).
    variables = child_env(
        PORT=str(port), REDIS_URL=redis_url, CORRAL_KEY_PREFIX=prefix, **{**defaults, **env}
    )
    process = subprocess.Popen(
        list(command),
        cwd=cwd,
        env=variables,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = Running(f"http://127.0.0.1:{port}", prefix, redis_url, process)
    pump = threading.Thread(target=_pump, args=(process, running.output), daemon=True)
    pump.start()
    try:
        wait_until(lambda: _healthy(running), "the emulator to answer /health", STARTUP_S)
        yield running
    finally:
        stop(process)
        pump.join(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
        _delete_prefix(redis_url, prefix)


def _healthy(running: Running) -> bool:
    if running.process.poll() is not None:
        raise AssertionError(f"the emulator exited:\n{running.text()}")
    try:
        return httpx.get(f"{running.url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _delete_prefix(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        for key in list(client.scan_iter(match=f"{prefix}:*", count=1000)):
            client.delete(key)
    except redis.RedisError:
        pass
    finally:
        client.close()
