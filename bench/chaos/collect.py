"""The run's outcome: every job's fate from the job table, the DLQ and the ledger."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.chaos.load import Planned


def _n(item: dict[str, Any], name: str) -> int:
    value = item.get(name, {}).get("N")
    return int(value) if value is not None else 0


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class Outcome:
    """What happened to the jobs; ``ok`` says whether the targets hold."""

    accepted: int = 0
    scheduled: int = 0
    cancelled: int = 0
    completed: int = 0
    failed: int = 0
    dlq_letters: int = 0
    dlq_jobs: int = 0
    poison: int = 0
    lost: list[str] = field(default_factory=list)
    completed_twice: list[str] = field(default_factory=list)
    unrecorded: list[str] = field(default_factory=list)
    """Completed in the table, but no successful write was counted: the process that made
    it was killed between the write and its count (the hook can miss, never add)."""
    dlq_not_poison: list[str] = field(default_factory=list)
    poison_not_in_dlq: list[str] = field(default_factory=list)
    dlq_repeated: list[str] = field(default_factory=list)
    reran: int = 0
    attempts: Counter[int] = field(default_factory=Counter)
    runs_mean: float = 0.0
    latency_ms: list[float] = field(default_factory=list)
    span_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not (
            self.lost or self.completed_twice or self.dlq_not_poison or self.poison_not_in_dlq
        )


def judge(
    planned: list[Planned],
    accepted: dict[str, float],
    items: list[dict[str, Any]],
    letters: list[dict[str, Any]],
    ledger: dict[str, dict[str, float]],
) -> Outcome:
    """Each accepted job must be completed once (with its side effect) or be poison in the DLQ."""
    out = Outcome()
    records = {i["pk"]["S"]: i for i in items}
    kinds = {p.key: p.kind for p in planned if p.key in accepted}
    # Jobs the scheduler made are in the table under ids the producer never used.
    scheduled = [key for key in records if key not in kinds]
    for key in scheduled:
        kinds[key] = "fast"
    out.accepted, out.scheduled = len(accepted), len(scheduled)
    poison = {key for key, kind in kinds.items() if kind == "poison"}
    out.poison = len(poison)
    dlq = Counter(f"{letter['queue']}#{letter['job_id']}" for letter in letters)
    out.dlq_letters, out.dlq_jobs = sum(dlq.values()), len(dlq)
    out.dlq_repeated = sorted(key for key, n in dlq.items() if n > 1)
    out.dlq_not_poison = sorted(set(dlq) - poison)
    out.poison_not_in_dlq = sorted(poison - set(dlq))
    effects, recorded, runs = ledger["effects"], ledger["recorded"], ledger["runs"]
    started, ended = [], []
    for key in kinds:
        item = records.get(key, {})
        status = item.get("status", {}).get("S")
        out.attempts[_n(item, "attemptsMade")] += 1
        if status == "completed":
            out.completed += 1
            if effects.get(key, 0) < 1:
                out.lost.append(key)  # recorded, but the work was never done
            if recorded.get(key, 0) > 1:
                out.completed_twice.append(key)
            elif recorded.get(key, 0) < 1:
                out.unrecorded.append(key)
            out.reran += effects.get(key, 0) > 1
            if key in accepted:  # the scheduler's runs wait for their time on purpose
                out.latency_ms.append(_n(item, "completedAt") - _n(item, "createdAt"))
            started.append(_n(item, "createdAt"))
            ended.append(_n(item, "completedAt"))
        elif status == "failed" and key in dlq:
            out.failed += 1
        elif status == "cancelled" and key not in accepted:
            out.cancelled += 1  # a run of a schedule deleted before it was due
        else:
            out.lost.append(key)
    out.runs_mean = statistics.fmean(runs.get(k, 0) for k in kinds) if kinds else 0.0
    out.span_s = (max(ended) - min(started)) / 1000 if ended else 0.0
    return out
