"""Two faults that measure how fast the system recovers: every poller process killed at
once, and a Redis flush. Each records seconds in ``times`` for the run's table."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from bench.chaos.queues import QUEUE_NAMES

ROOT = Path(__file__).resolve().parents[2]
POLL_S = 0.05
GIVE_UP_S = 120.0


@dataclass(frozen=True)
class Stranded:
    """A job a killed poller held: its lease token and when that lease runs out (ms)."""

    queue: str
    job_id: str
    lock: str
    lease_end_ms: float


def _base(prefix: str, queue: str) -> str:
    return f"{prefix}:{{{queue}}}:"


@dataclass
class MassKill:
    """Starts one poller process per queue, lets them claim, then ``SIGKILL``s them all at
    once, and measures how long after their leases ran out the jobs they held ran again
    (claimed anew, or finished)."""

    url: str
    prefix: str
    env: dict[str, str]
    times: dict[str, float] = field(default_factory=dict)
    stranded: int = 0

    def run(self, stop: threading.Event) -> None:
        pollers = [
            subprocess.Popen(
                [sys.executable, "-m", "bench.chaos.poller_proc", queue],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for queue in QUEUE_NAMES
        ]
        client = redis.Redis.from_url(self.url, decode_responses=True)
        try:
            pids = {p.pid for p in pollers}
            held: list[Stranded] = []
            deadline = time.monotonic() + 15
            while not held and time.monotonic() < deadline and not stop.wait(0.5):
                held = self._held_by(client, pids)
            for poller in pollers:
                poller.send_signal(signal.SIGKILL)
            killed_ms = time.time() * 1000
            for poller in pollers:
                poller.wait()
            held = self._held_by(client, pids) or held
            self.stranded = len(held)
            if held:
                self._measure(client, held, killed_ms)
        finally:
            client.close()

    def _held_by(self, client: redis.Redis, pids: set[int]) -> list[Stranded]:
        held = []
        for queue in QUEUE_NAMES:
            base = _base(self.prefix, queue)
            active: Any = client.zrange(base + "active", 0, -1, withscores=True)
            for job_id, lease_end in active:
                lock = str(client.hget(f"{base}job:{job_id}", "lock") or "")
                if any(f"-{pid}-" in lock for pid in pids):
                    held.append(Stranded(queue, str(job_id), lock, float(lease_end)))
        return held

    def _measure(self, client: redis.Redis, held: list[Stranded], killed_ms: float) -> None:
        waiting = {s.job_id: s for s in held}
        late_ms: list[float] = []
        give_up = time.monotonic() + GIVE_UP_S
        while waiting and time.monotonic() < give_up:
            now_ms = time.time() * 1000
            for job_id, s in list(waiting.items()):
                fields = client.hmget(f"{_base(self.prefix, s.queue)}job:{job_id}", "lock", "state")
                lock, state = fields[0] or "", fields[1]
                claimed_anew = bool(lock) and lock != s.lock
                if claimed_anew or state in (None, "completed", "failed", "cancelled"):
                    late_ms.append(now_ms - s.lease_end_ms)
                    del waiting[job_id]
            time.sleep(POLL_S)
        first_end = min(s.lease_end_ms for s in held)
        self.times["every poller killed: leases ran out after the kill"] = (
            first_end - killed_ms
        ) / 1000
        if late_ms:
            self.times["every poller killed: jobs ran again after their lease ran out (max)"] = (
                max(late_ms) / 1000
            )
        if waiting:
            self.times["every poller killed: jobs not running again when measuring ended"] = len(
                waiting
            )


@dataclass
class FlushRecovery:
    """After a ``FLUSHALL``: how long until Redis holds again every job that was waiting or
    delayed in it (the reconcile the next API call or poller run starts brings them back)."""

    url: str
    prefix: str
    times: dict[str, float] = field(default_factory=dict)
    lost: int = 0

    def flush(self, until: threading.Event) -> threading.Thread:
        """Note the waiting and delayed jobs and flush, in one transaction; then measure in a
        thread until they are back, or until ``until`` is set (Redis is lost again)."""
        client = redis.Redis.from_url(self.url, decode_responses=True)
        try:
            groups = [
                key
                for queue in QUEUE_NAMES
                for key in client.scan_iter(match=_base(self.prefix, queue) + "group:*")
            ]
            with client.pipeline(transaction=True) as pipe:
                for key in groups:
                    pipe.zrange(key, 0, -1)
                for queue in QUEUE_NAMES:
                    pipe.zrange(_base(self.prefix, queue) + "delayed", 0, -1)
                pipe.flushall()
                replies = pipe.execute()
            flushed = time.monotonic()
            queues = [key.split("{")[1].split("}")[0] for key in groups] + list(QUEUE_NAMES)
            lost = [
                f"{_base(self.prefix, queue)}job:{job_id}"
                for queue, ids in zip(queues, replies[:-1], strict=True)
                for job_id in ids
            ]
            self.lost = len(lost)
        finally:
            client.close()
        measure = threading.Thread(target=self._measure, args=(lost, flushed, until), daemon=True)
        measure.start()
        return measure

    def _measure(self, lost: list[str], flushed: float, until: threading.Event) -> None:
        client = redis.Redis.from_url(self.url, decode_responses=True)
        try:
            self._wait_back(client, lost, flushed, until)
        finally:
            client.close()

    def _wait_back(
        self, client: redis.Redis, lost: list[str], flushed: float, until: threading.Event
    ) -> None:
        missing = set(lost)
        give_up = flushed + GIVE_UP_S
        while missing and time.monotonic() < give_up and not until.is_set():
            ordered = list(missing)
            with client.pipeline(transaction=False) as pipe:
                for key in ordered:
                    pipe.exists(key)
                back = pipe.execute()
            missing -= {key for key, there in zip(ordered, back, strict=True) if there}
            if not missing:
                break
            time.sleep(POLL_S)
        if lost and not missing:
            self.times["redis flushed: every waiting job back in Redis after"] = (
                time.monotonic() - flushed
            )
        elif lost:
            self.times["redis flushed: jobs not back before Redis was lost again"] = len(missing)
