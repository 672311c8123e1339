"""The load: a planned mix of jobs over five queues and N tenants, sent through the API."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.chaos.queues import POISON_ATTEMPTS, QUEUE_NAMES

MIX = (("fast", 0.60), ("slow", 0.15), ("flaky", 0.15), ("hang", 0.05), ("poison", 0.05))
BATCH = 50


@dataclass(frozen=True)
class Planned:
    """One job the producer sends."""

    queue: str
    job_id: str
    tenant: int
    kind: str
    data: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.queue}#{self.job_id}"

    def body(self) -> dict[str, Any]:
        options: dict[str, Any] = {"jobId": self.job_id}
        if self.kind == "poison":
            options["attempts"] = POISON_ATTEMPTS
        return {"data": self.data, "options": options}


def plan(jobs: int, tenants: int, seed: int, *, plain: bool = False) -> list[Planned]:
    """``jobs`` jobs in the mix (``plain``: all fast), spread over the queues and tenants."""
    draw = random.Random(seed)
    mix = (("fast", 1.0),) if plain else MIX
    kinds = [k for k, _ in mix]
    weights = [w for _, w in mix]
    out = []
    for n in range(jobs):
        kind = draw.choices(kinds, weights)[0]
        data: dict[str, Any] = {"kind": kind}
        if kind == "slow":
            data["sleepMs"] = draw.randint(100, 600)
        if kind == "flaky":
            data["failTimes"] = draw.randint(1, 2)
        out.append(Planned(QUEUE_NAMES[n % 5], f"c{n:07d}", n % tenants, kind, data))
    return out


@dataclass
class Producer:
    """Sends the plan in batches at an even pace; retries what the API did not accept.

    A retry reuses the job's id, so a batch that was written but whose answer was lost
    is accepted once (the API answers ``deduplicated``).
    """

    url: str
    tokens: list[str]
    duration_s: float
    batch: int = BATCH
    accepted: dict[str, float] = field(default_factory=dict)
    refused: int = 0
    requests: int = 0
    request_ms: float = 0.0
    done: threading.Event = field(default_factory=threading.Event)

    def run(self, planned: list[Planned]) -> None:
        batches: dict[tuple[str, int], list[Planned]] = {}
        for job in planned:
            batches.setdefault((job.queue, job.tenant), []).append(job)
        chunks = [
            (queue, tenant, jobs[i : i + self.batch])
            for (queue, tenant), jobs in batches.items()
            for i in range(0, len(jobs), self.batch)
        ]
        random.Random(1).shuffle(chunks)
        pace = self.duration_s / max(1, len(chunks))
        start = time.monotonic()
        with httpx.Client(base_url=self.url, timeout=30) as http:
            for n, (queue, tenant, jobs) in enumerate(chunks):
                time.sleep(max(0.0, start + n * pace - time.monotonic()))
                self._send(http, queue, self.tokens[tenant], jobs)
        self.done.set()

    def _send(self, http: httpx.Client, queue: str, token: str, jobs: list[Planned]) -> None:
        body = {"jobs": [job.body() for job in jobs]}
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(60):
            started = time.monotonic()
            try:
                reply = http.post(f"/jobs/{queue}/batch", json=body, headers=headers)
            except httpx.HTTPError:
                reply = None
            self.requests += 1
            self.request_ms += (time.monotonic() - started) * 1000
            if reply is not None and reply.status_code in (200, 202):
                now = time.time()
                for job in jobs:
                    self.accepted[job.key] = now
                return
            self.refused += 1
            time.sleep(0.5)
        raise RuntimeError(f"the API refused a batch of {queue} 60 times")
