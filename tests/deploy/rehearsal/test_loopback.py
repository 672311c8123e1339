"""The rehearsal's loopback pieces: the proxy trap catches what would leave the machine."""

from __future__ import annotations

import os
import subprocess
import sys

from infra.deploy.loopback import ProxyTrap, free_port


def test_a_request_bound_off_loopback_reaches_the_trap_not_the_internet() -> None:
    code = (
        "import urllib.request\n"
        "try:\n"
        "    urllib.request.urlopen('https://example.com/', timeout=5)\n"
        "except OSError as error:\n"
        "    print('refused', type(error).__name__)\n"
    )
    with ProxyTrap() as trap:
        run = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, **trap.environment()},
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
    assert run.stdout.startswith("refused")
    assert [line.rsplit(" ", 1)[0] for line in trap.attempts] == ["CONNECT example.com:443"]


def test_loopback_traffic_bypasses_the_trap() -> None:
    with ProxyTrap() as trap:
        assert "127.0.0.1" in trap.environment()["NO_PROXY"]
        assert "localhost" in trap.environment()["NO_PROXY"]
    assert trap.attempts == []


def test_free_port_is_bindable() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", free_port()))
