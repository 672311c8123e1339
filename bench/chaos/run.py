"""The chaos run: start the system, load it, inject faults, wait, judge, print the table."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

from bench.chaos import aws, ledger
from bench.chaos.collect import Outcome, judge
from bench.chaos.inject import Injectors
from bench.chaos.load import Planned, Producer, plan
from bench.chaos.procs import RedisServer, free_port, interrupt, start_redis, wait_until
from bench.chaos.queues import QUEUE_NAMES, RETENTION
from bench.chaos.report import Retained, Run
from bench.chaos.settings import child_env

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "chaos"
KILLS = 25
"""About how many poller processes a run kills (at most one every 3 s)."""
RECONCILES = 60
"""About how many times the reconciler runs in a long load window (at most every 2 s).
Each run queries the status index of every queue, which moto answers by walking the
whole table: every 2 s, at 100,000 records, that alone would keep moto busy."""


def reconcile_period(duration_s: float) -> float:
    """The reconciler's period for a load window of ``duration_s``."""
    return max(2.0, duration_s / RECONCILES)


@dataclass(frozen=True)
class Config:
    """A run's size and faults.

    Attributes:
        jobs: jobs the producer sends.
        duration_s: how long it takes to send them (faults happen in this window).
        tenants: tenants the jobs are spread over.
        settle_s: the longest wait, after the load, for every job to finish.
        faults: inject faults and create schedules (off: a clean benchmark run).
        seed: seeds the plan and the faults.
        scheduler_s: period of the scheduler's ticks.
        reconcile_s: period of the reconciler's (0: with every tick of the emulator, 2 s).
        keep: keep the directory of logs.
        plain: every job fast (``make cost``) instead of the chaos mix.
        batch: jobs per API request.
        idle_s: after the jobs, how long to measure the idle system.
    """

    jobs: int = 1000
    duration_s: float = 60.0
    tenants: int = 3
    settle_s: float = 300.0
    faults: bool = True
    seed: int = 7
    scheduler_s: float = 2.0
    reconcile_s: float = 0.0
    keep: bool = False
    plain: bool = False
    batch: int = 50
    idle_s: float = 0.0


def tokens(tenants: int) -> tuple[str, list[str]]:
    """``CORRAL_API_KEYS`` for an admin and ``tenants`` tenants, and the tenants' tokens."""
    names = [f"chaos-t{n}" for n in range(tenants)]
    keys = ",".join(["chaos-admin:ops:admin", *(f"{t}:tenant{n}" for n, t in enumerate(names))])
    return keys, names


def fault_env(config: Config) -> dict[str, str]:
    if not config.faults:
        return {"CHAOS_SCHEDULER_S": str(config.scheduler_s)}
    return {
        "CHAOS_AWS_FAIL_RATE": "0.02",
        "CHAOS_AWS_THROTTLE_RATE": "0.02",
        "CHAOS_AWS_OUTAGE_RATE": "0.005",
        "CHAOS_SHORT_DEADLINE_RATE": "0.2",
        "CHAOS_SCHEDULER_S": str(config.scheduler_s),
        "CHAOS_DUPLICATE_TICK_RATE": "0.3",
        "CHAOS_DELAYED_TICK_RATE": "0.3",
    }


@dataclass
class Stack:
    """The running system and what the run needs to reach it."""

    target: RedisServer
    ledger: RedisServer
    endpoint: str
    dlq_url: str
    api: str
    env: dict[str, str]
    workdir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.wait()


@contextmanager
def stack(config: Config) -> Iterator[Stack]:
    """Private Redis servers, a moto server and the emulator; all stopped on exit."""
    workdir = Path(tempfile.mkdtemp(prefix="corral-chaos-"))
    with ExitStack() as cleanup:
        if not config.keep:
            cleanup.callback(shutil.rmtree, workdir, True)
        target = start_redis(workdir, set())
        cleanup.callback(target.stop)
        counts = start_redis(workdir, {target.port})
        cleanup.callback(counts.stop)
        port = free_port()
        moto = aws.start_moto(port, workdir / "moto.log")
        cleanup.callback(stop_process, moto)
        endpoint = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(endpoint + "/moto-api/").status_code == 200, "moto", 60)
        dlq_url = aws.create_resources(endpoint)
        keys, _ = tokens(config.tenants)
        env = child_env(
            REDIS_URL=target.url,
            CORRAL_KEY_PREFIX=PREFIX,
            CORRAL_DLQ_URL=dlq_url,
            CORRAL_API_KEYS=keys,
            CORRAL_LOCAL_REGISTRY="bench.chaos.queues:registry",
            CORRAL_LOCAL_SCHEDULE_S="2",
            CORRAL_LOCAL_RECONCILE_GRACE_MS="3000",
            CORRAL_LOCAL_RECONCILE_S=str(config.reconcile_s),
            AWS_ENDPOINT_URL=endpoint,
            CHAOS_LEDGER_URL=counts.url,
            CHAOS_SEED=str(config.seed),
            **aws.CREDENTIALS,
            **fault_env(config),
        )
        api_port = free_port()
        with (workdir / "system.log").open("wb") as log:
            system = subprocess.Popen(
                [sys.executable, "-m", "bench.chaos.system"],
                cwd=ROOT,
                env={**env, "PORT": str(api_port)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        cleanup.callback(interrupt, system)
        api = f"http://127.0.0.1:{api_port}"
        healthy = lambda: httpx.get(api + "/health", timeout=5).status_code == 200  # noqa: E731
        wait_until(healthy, "the API", 120)
        yield Stack(target, counts, endpoint, dlq_url, api, env, workdir, [system])


def create_schedules(api: str, tenant_tokens: list[str]) -> list[tuple[str, str]]:
    """Two repeatable jobs (every 2 s and 3 s); returns (token, id) of each."""
    made = []
    for token, queue, every in (
        (tenant_tokens[0], "email", 2000),
        (tenant_tokens[-1], "sms", 3000),
    ):
        body = {"queue": queue, "data": {"kind": "fast"}, "every": every}
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(20):
            reply = httpx.post(api + "/schedules", json=body, headers=headers, timeout=30)
            if reply.status_code != 503:  # an injected outage: try again, as a client would
                break
            time.sleep(float(reply.headers.get("Retry-After", "1")))
        reply.raise_for_status()
        made.append((token, str(reply.json()["id"])))
    return made


def delete_schedules(api: str, made: list[tuple[str, str]]) -> None:
    for token, schedule_id in made:
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(20):
            try:
                reply = httpx.delete(f"{api}/schedules/{schedule_id}", headers=headers, timeout=30)
            except httpx.HTTPError:
                continue
            if reply.status_code in (200, 204, 404):
                break
            time.sleep(0.5)


def settled(s: Stack) -> bool:
    """Every job, accepted or made by the scheduler, has a final status.

    (An accepted job's record is written before the API answers; one that is missing
    cannot turn up by waiting, and the verdict counts it lost.)
    """
    return aws.active_records(s.endpoint, QUEUE_NAMES) == 0


def retained(url: str) -> Retained:
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        kept = Retained(keys=int(client.dbsize()))
        for queue in QUEUE_NAMES:
            base = f"{PREFIX}:{{{queue}}}:"
            kept.completed += int(client.zcard(base + "completed"))
            kept.failed += int(client.zcard(base + "failed"))
            kept.cancelled += int(client.zcard(base + "cancelled"))
            kept.job_hashes += sum(1 for _ in client.scan_iter(match=base + "job:*", count=1000))
            # Cancelled jobs are kept under the failed retention, in a set of their own.
            kept.bound += RETENTION.completed_count + 2 * RETENTION.failed_count
        return kept
    finally:
        client.close()


def ledger_counts(url: str) -> dict[str, dict[str, float]]:
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        names = [ledger.RUNS, ledger.EFFECTS, ledger.RECORDED, ledger.CALLS, ledger.FAULTS]
        names += [ledger.INVOCATIONS, ledger.DURATION_MS, ledger.IDLE_MS, ledger.UNITS]
        names += [ledger.API_MS, ledger.AWS_MS, ledger.AWS_WAVES]
        return {name: ledger.read(client, name) for name in names}
    finally:
        client.close()


@dataclass
class Result:
    """A finished run: the table's inputs, the ledger and the raw records."""

    run: Run
    outcome: Outcome
    ledger: dict[str, dict[str, float]]
    items: list[dict[str, Any]]
    producer: Producer
    redis_busy: dict[str, Any] = field(default_factory=dict)
    idle: dict[str, dict[str, float]] = field(default_factory=dict)
    redis_idle: dict[str, Any] = field(default_factory=dict)
    busy_s: float = 0.0
    """Seconds the ledger counted before ``ledger`` was read (start, load and settle)."""

    @property
    def ok(self) -> bool:
        return self.outcome.ok and self.run.retained.ok


def redis_stats(url: str) -> dict[str, Any]:
    """``INFO commandstats`` and the bytes in and out of the Redis under test."""
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        stats: dict[str, Any] = dict(client.info("commandstats"))
        net = client.info("stats")
        stats["bytes"] = int(net["total_net_input_bytes"]) + int(net["total_net_output_bytes"])
        return stats
    finally:
        client.close()


def minus(after: dict[str, dict[str, float]], before: dict[str, dict[str, float]]) -> Any:
    """Counter hashes of a window: ``after - before``."""
    return {
        name: {k: v - before.get(name, {}).get(k, 0.0) for k, v in values.items()}
        for name, values in after.items()
    }


def execute(config: Config) -> Result:
    """One whole run (start, load, faults, settle, judge)."""
    started = time.monotonic()
    planned: list[Planned] = plan(config.jobs, config.tenants, config.seed, plain=config.plain)
    phases: dict[str, float] = {}
    with stack(config) as s:
        phases["start"] = time.monotonic() - started
        _, tenant_tokens = tokens(config.tenants)
        made = create_schedules(s.api, tenant_tokens) if config.faults else []
        producer = Producer(s.api, tenant_tokens, config.duration_s, config.batch)
        injectors = Injectors(s.target, s.env, config.duration_s, KILLS, config.faults, config.seed)
        injectors.start()
        dead_letters = aws.DeadLetterReader(s.endpoint, s.dlq_url)
        dead_letters.start()
        producer.run(planned)
        phases["load"] = time.monotonic() - started - phases["start"]
        delete_schedules(s.api, made)
        injectors.end_faults()
        deadline = time.monotonic() + config.settle_s
        while time.monotonic() < deadline:
            checked = time.monotonic()
            if settled(s):
                break
            # Each check walks the whole table in moto: give the jobs at least as long.
            time.sleep(max(3.0, time.monotonic() - checked))
        phases["settle"] = time.monotonic() - started - phases["start"] - phases["load"]
        injectors.join()
        items = aws.scan_table(s.endpoint)
        letters = dead_letters.finish()
        counts = ledger_counts(s.ledger.url)
        # The emulator ticks from when it answers, which is when the stack is up.
        busy_s = time.monotonic() - started - phases["start"]
        kept = retained(s.target.url)
        busy = redis_stats(s.target.url)
        idle, redis_idle = {}, {}
        if config.idle_s:
            time.sleep(config.idle_s)
            idle = minus(ledger_counts(s.ledger.url), counts)
            redis_idle = redis_stats(s.target.url)
    outcome = judge(planned, producer.accepted, items, letters, counts)
    sampler = injectors.sampler
    run = Run(
        config.jobs,
        config.tenants,
        config.duration_s,
        time.monotonic() - started,
        sampler.peak,
        sampler.last,
        kept,
        injectors.counts(counts["faults"]),
        phases,
        injectors.recovery_s,
    )
    return Result(run, outcome, counts, items, producer, busy, idle, redis_idle, busy_s)
