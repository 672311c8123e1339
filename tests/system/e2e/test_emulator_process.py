"""The emulator as a process: it says how to start Redis when none answers, Ctrl-C stops
it cleanly, and ``corral local`` starts it from anywhere in the checkout."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.emulator import ROOT, child_env, emulator, free_port

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


CORRAL = Path(sys.executable).with_name("corral")


def test_corral_local_runs_it_from_a_folder_of_the_checkout() -> None:
    with emulator(command=[str(CORRAL), "local"], cwd=ROOT / "docs") as running:
        assert httpx.get(f"{running.url}/health", timeout=10).json()["status"] == "ok"
        running.process.send_signal(signal.SIGINT)
        assert running.process.wait(timeout=60) == 0


def test_corral_local_outside_a_checkout_says_where_to_run_it(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(CORRAL), "local"],
        cwd=tmp_path,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "inside a corral checkout" in done.stderr and "Traceback" not in done.stderr
