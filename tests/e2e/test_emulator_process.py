"""The emulator as a process: it says how to start Redis when none answers, and Ctrl-C
stops it cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from tests.e2e.emulator import ROOT, child_env, emulator, free_port

pytestmark = pytest.mark.slow


def test_without_redis_it_says_how_to_start_one() -> None:
    closed = free_port()
    env = child_env(PORT=str(free_port()), REDIS_URL=f"redis://127.0.0.1:{closed}/0")

    done = subprocess.run(
        [sys.executable, "-m", "infra.local"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 1
    assert f"No Redis answers at redis://127.0.0.1:{closed}/0" in done.stderr
    assert "redis-server --daemonize yes" in done.stderr


def test_ctrl_c_stops_it_cleanly() -> None:
    with emulator() as running:
        running.process.send_signal(signal.SIGINT)
        assert running.process.wait(timeout=60) == 0
    assert "stopped" in running.text()
