"""Faults the driver injects from outside: poller processes killed (one at a time, and
every one at once) and Redis lost twice; the recovery faults time the way back.

(DynamoDB and SQS faults, short deadlines and bad scheduler ticks are injected inside
the emulator process: see ``bench.chaos.faults`` and ``bench.chaos.system``.)
"""

from __future__ import annotations

import contextlib
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import redis

from bench.chaos.procs import RedisServer
from bench.chaos.queues import QUEUE_NAMES
from bench.chaos.recovery import FlushRecovery, MassKill

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class PollerKiller:
    """Starts pollers in their own processes and ``SIGKILL``s each one mid-batch.

    Each kill strands a batch of claimed jobs until their leases lapse, and each such
    stall counts toward the job's ``max_stalls``: the kills are spread over the load
    window (``until_s``) at a pace that does not outrun the system's throughput.
    """

    env: dict[str, str]
    every_s: float = 3.0
    until_s: float = float("inf")
    live_s: tuple[float, float] = (1.5, 4.0)
    seed: int = 3
    killed: int = 0
    exited: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        draw = random.Random(self.seed)
        end = time.monotonic() + self.until_s
        while not self.stop.wait(self.every_s) and time.monotonic() < end:
            queue = draw.choice(QUEUE_NAMES)
            child = subprocess.Popen(
                [sys.executable, "-m", "bench.chaos.poller_proc", queue],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if self.stop.wait(draw.uniform(*self.live_s)):
                child.kill()
                child.wait()
                return
            if child.poll() is None:
                child.send_signal(signal.SIGKILL)
                self.killed += 1
            else:
                self.exited += 1
            child.wait()


@dataclass
class RedisFaults:
    """A ``FLUSHALL`` (timed until the lost jobs are back) and a restart of the Redis under
    test, at set times."""

    server: RedisServer
    flush_at_s: float
    restart_at_s: float
    recovery: FlushRecovery
    done: Counter[str] = field(default_factory=Counter)

    def run(self, stop: threading.Event) -> None:
        start = time.monotonic()
        if stop.wait(self.flush_at_s):
            return
        lost_again = threading.Event()
        measure = self.recovery.flush(lost_again)
        self.done["redis flushed (FLUSHALL)"] += 1
        stopped = stop.wait(max(0.0, start + self.restart_at_s - time.monotonic()))
        lost_again.set()
        measure.join(timeout=30)
        if stopped:
            return
        self.server.restart()
        self.done["redis restarted (all keys lost)"] += 1


@dataclass
class MemorySampler:
    """The Redis under test's ``used_memory``, sampled; the peak survives restarts."""

    url: str
    peak: int = 0
    last: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        client = redis.Redis.from_url(self.url, socket_timeout=2)
        try:
            while not self.stop.wait(0.5):
                with contextlib.suppress(redis.RedisError):
                    self.last = int(client.info("memory")["used_memory"])
                    self.peak = max(self.peak, self.last)
        finally:
            client.close()


@dataclass
class Injectors:
    """The outside faults of a run and the memory sampler, started and stopped together.

    Args:
        target: the Redis under test.
        env: the environment of poller processes.
        duration_s: the load window the faults fall in.
        kills: about how many poller processes to kill.
        faults: inject faults (off: only sample memory).
        seed: seeds the kills.
    """

    target: RedisServer
    env: dict[str, str]
    duration_s: float
    kills: int
    faults: bool
    seed: int
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sampler = MemorySampler(self.target.url)
        every_s = max(3.0, self.duration_s / self.kills)
        self.killer = PollerKiller(self.env, every_s, until_s=self.duration_s, seed=self.seed)
        prefix = self.env["CORRAL_KEY_PREFIX"]
        flush = FlushRecovery(self.target.url, prefix)
        self.mass_kill = MassKill(self.target.url, prefix, self.env)
        at_s = (0.35 * self.duration_s, 0.65 * self.duration_s)
        self.redis = RedisFaults(self.target, *at_s, flush)
        # After the flush and the restart, so that Redis keeps what the killed pollers held.
        self.mass_kill_at_s = 0.7 * self.duration_s

    def start(self) -> None:
        self.threads = [threading.Thread(target=self.sampler.run, daemon=True)]
        if self.faults:
            self.threads += [
                threading.Thread(target=self.killer.run, daemon=True),
                threading.Thread(target=self.redis.run, args=(self.stop,), daemon=True),
                threading.Thread(target=self._kill_every_poller, daemon=True),
            ]
        for thread in self.threads:
            thread.start()

    def _kill_every_poller(self) -> None:
        if not self.stop.wait(self.mass_kill_at_s):
            self.mass_kill.run(self.stop)

    @property
    def recovery_s(self) -> dict[str, float]:
        """What the recovery faults measured (seconds, or a count where a name says so)."""
        return {**self.mass_kill.times, **self.redis.recovery.times}

    def end_faults(self) -> None:
        """The load is over: no more kills or Redis faults (the sampler goes on)."""
        self.stop.set()
        self.killer.stop.set()

    def join(self) -> None:
        self.end_faults()
        self.sampler.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def counts(self, inside: dict[str, float]) -> Counter[str]:
        """Every fault injected: ``inside`` the processes (the ledger's) and from here."""
        done: Counter[str] = Counter({k: int(v) for k, v in inside.items()})
        done.update(self.redis.done)
        done["poller process killed mid-batch (SIGKILL)"] += self.killer.killed
        if self.mass_kill.stranded:
            done["every poller process killed at once (SIGKILL)"] += 1
        return done
