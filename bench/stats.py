"""What Redis says a phase cost: ``INFO commandstats`` (reset with ``CONFIG RESETSTAT``),
the server's own CPU time (``INFO cpu``), and, in a separate pass, ``MONITOR`` to tell the
commands a client sent from those run inside Lua scripts (commandstats counts both, and a
script's ``usec`` already includes the commands it ran)."""

from __future__ import annotations

import re
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis import Redis

ADMIN = frozenset({"config|resetstat", "info", "echo", "flushdb", "client|info"})
"""The orchestrator's own commands, never counted."""

SCRIPT_CALLS = frozenset({"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"})

MONITOR_LINE = re.compile(r'^\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]*)"')


@dataclass
class Sample:
    """Commands (calls and µs by name) and server CPU seconds spent in one phase."""

    calls: dict[str, int]
    usec: dict[str, int]
    cpu_s: float

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def top_level_usec(self, inner_share: dict[str, float]) -> float:
        """µs of what clients sent: a script's time counts once, with what it ran inside."""
        return sum(us * (1 - inner_share.get(cmd, 0.0)) for cmd, us in self.usec.items())


def server_cpu(admin: Redis) -> float:
    info = admin.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def memory(admin: Redis) -> int:
    """Bytes of data Redis holds: ``used_memory`` less its cache of Lua scripts (loaded by
    the first call of each script, not by the jobs)."""
    info = admin.info("memory")
    return int(info["used_memory"]) - int(info.get("used_memory_scripts", 0))


def reset(admin: Redis) -> float:
    """Zero the command statistics; returns the server CPU seconds so far."""
    admin.config_resetstat()
    return server_cpu(admin)


def read(admin: Redis, cpu_before: float) -> Sample:
    """The statistics since ``reset``, without the orchestrator's own commands."""
    raw: dict[str, Any] = admin.info("commandstats")
    calls: dict[str, int] = {}
    usec: dict[str, int] = {}
    for key, value in raw.items():
        name = key.removeprefix("cmdstat_")
        if name in ADMIN:
            continue
        calls[name] = int(value["calls"])
        usec[name] = int(value["usec"])
    return Sample(calls, usec, server_cpu(admin) - cpu_before)


@dataclass
class MonitorCount:
    """Commands seen by ``MONITOR``, by name: sent by clients, and run inside scripts."""

    client: Counter[str] = field(default_factory=Counter)
    lua: Counter[str] = field(default_factory=Counter)

    def inner_share(self) -> dict[str, float]:
        """For each command, the share of its calls made from inside scripts."""
        names = set(self.client) | set(self.lua)
        return {n: self.lua[n] / (self.lua[n] + self.client[n]) for n in names}


class Monitor:
    """``redis-cli MONITOR`` into a file for the length of one phase."""

    def __init__(self, host: str, port: int, path: Path) -> None:
        self.path = path
        self._file = path.open("wb")
        argv = ["redis-cli", "-h", host, "-p", str(port), "monitor"]
        self._proc = subprocess.Popen(argv, stdout=self._file, stderr=subprocess.DEVNULL)
        self._wait_for(b"OK")

    def _wait_for(self, needle: bytes, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.path.read_bytes()[-4096:]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"MONITOR output never showed {needle!r}")
            time.sleep(0.02)

    def stop(self, admin: Redis) -> MonitorCount:
        """End the capture (after a marker, so nothing in flight is lost) and count it."""
        marker = f"bench-end-{time.time_ns()}"
        admin.echo(marker)
        self._wait_for(marker.encode())
        self._proc.terminate()
        self._proc.wait()
        self._file.close()
        me = str(admin.client_info()["addr"])
        count = MonitorCount()
        with self.path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                match = MONITOR_LINE.match(line)
                if match is None or match[1] == me:
                    continue
                source, cmd = match[1], match[2].lower()
                (count.lua if source == "lua" else count.client)[cmd] += 1
        self.path.unlink()
        return count
