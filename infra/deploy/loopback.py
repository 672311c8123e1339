"""Loopback stand-ins for a deploy rehearsal: a moto server, and a proxy that lets nothing out.

``moto_server`` runs moto's server (every AWS service, in memory) on a free 127.0.0.1 port.
``ProxyTrap`` listens on loopback for the tools' ``HTTPS_PROXY``: with ``NO_PROXY`` naming only
loopback hosts, any request bound elsewhere (telemetry, a version check) reaches the trap
instead of the internet; the trap records where it was going and answers nothing.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

LOOPBACK_HOSTS = "localhost,127.0.0.1,::1"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for(port: int, process: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"moto_server did not listen on port {port} in {timeout_s} s")


@contextmanager
def moto_server(log: Path) -> Iterator[str]:
    """A moto server on a free loopback port; yields its endpoint URL.

    The URL names ``localhost``: moto's CloudFormation reads a ``TemplateURL`` path-style only
    when its host is ``localhost``.
    """
    executable = Path(sys.executable).with_name("moto_server")
    command = str(executable) if executable.is_file() else shutil.which("moto_server")
    if command is None:
        raise FileNotFoundError("moto_server not found: pip install 'moto[server]'")
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [command, "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
        try:
            _wait_for(port, process)
            yield f"http://localhost:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)


class ProxyTrap:
    """A loopback listener that records every connection made through it (and refuses them)."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self.attempts: list[str] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(2)
                try:
                    first_line = connection.recv(4096).split(b"\r\n", 1)[0]
                except OSError:
                    first_line = b"(nothing sent)"
                self.attempts.append(first_line.decode("latin-1"))

    def environment(self) -> dict[str, str]:
        """Proxy variables that send everything but loopback traffic here."""
        proxy = f"http://127.0.0.1:{self.port}"
        names = ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")
        return {
            **dict.fromkeys(names, proxy),
            "NO_PROXY": LOOPBACK_HOSTS,
            "no_proxy": LOOPBACK_HOSTS,
        }

    def __enter__(self) -> ProxyTrap:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        # shutdown wakes the accept() the thread is blocked in; close alone may not.
        with suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        self._thread.join(timeout=5)
