"""The run's table: one line per figure, ``name: value``, then the verdict."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bench.chaos.collect import Outcome, percentile


@dataclass
class Retained:
    """What Redis still holds at the end, against the queues' retention bounds."""

    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    job_hashes: int = 0
    bound: int = 0
    keys: int = 0

    @property
    def ok(self) -> bool:
        return self.job_hashes <= self.bound


@dataclass
class Run:
    """Everything the table shows besides the outcome."""

    jobs: int
    tenants: int
    duration_s: float
    elapsed_s: float
    peak_memory: int
    final_memory: int
    retained: Retained
    faults: Counter[str] = field(default_factory=Counter)
    phases: dict[str, float] = field(default_factory=dict)
    recovery: dict[str, float] = field(default_factory=dict)
    """Recovery times the faults measured, in seconds (a count where the name says so)."""


def table(run: Run, out: Outcome) -> str:
    attempts = " ".join(f"{n}:{c}" for n, c in sorted(out.attempts.items()))
    mean = sum(n * c for n, c in out.attempts.items()) / max(1, sum(out.attempts.values()))
    throughput = out.completed / out.span_s if out.span_s else 0.0
    lines = [
        f"jobs planned: {run.jobs} over 5 queues and {run.tenants} tenants in {run.duration_s:g} s",
        f"accepted: {out.accepted}",
        f"scheduled (by the scheduler): {out.scheduled}, of which cancelled with their"
        f" schedule before they were due: {out.cancelled}",
        f"completed: {out.completed}",
        f"failed: {out.failed}",
        f"in the DLQ: {out.dlq_jobs} jobs, {out.dlq_letters} letters (poison jobs: {out.poison})",
        f"lost: {len(out.lost)}",
        f"completed twice: {len(out.completed_twice)}",
        f"completed, its writer killed before it counted the write: {len(out.unrecorded)}",
        f"handler side effect applied more than once (at-least-once reruns): {out.reran}",
        f"attempts per job: mean {mean:.2f}, distribution {attempts}",
        f"handler runs per job: mean {out.runs_mean:.2f}",
        f"end-to-end latency p50: {percentile(out.latency_ms, 0.50):.0f} ms"
        " (accepted to completed, jobs of the API, retries and faults included)",
        f"end-to-end latency p99: {percentile(out.latency_ms, 0.99):.0f} ms",
        f"throughput: {throughput:.1f} jobs/s (completed / first accepted to last completed)",
        f"peak Redis memory: {run.peak_memory / 1e6:.1f} MB (at the end: "
        f"{run.final_memory / 1e6:.1f} MB, {run.retained.keys} keys)",
        f"Redis bounded by retention: {'yes' if run.retained.ok else 'NO'} "
        f"({run.retained.job_hashes} job hashes kept, bound {run.retained.bound}; "
        f"{run.retained.completed} completed, {run.retained.failed} failed, "
        f"{run.retained.cancelled} cancelled kept)",
        f"wall time: {run.elapsed_s:.0f} s ("
        + ", ".join(f"{name} {s:.0f} s" for name, s in run.phases.items())
        + ")",
    ]
    lines += [f"fault: {name}: {n}" for name, n in sorted(run.faults.items())]
    lines += [f"recovery: {name}: {value:.2f}" for name, value in run.recovery.items()]
    for label, keys in (
        ("lost", out.lost),
        ("completed twice", out.completed_twice),
        ("unrecorded", out.unrecorded),
        ("in the DLQ but not poison", out.dlq_not_poison),
        ("poison but not in the DLQ", out.poison_not_in_dlq),
        ("more than one letter (at-least-once send)", out.dlq_repeated),
    ):
        if keys:
            lines.append(f"  {label}: {', '.join(keys[:10])}{' ...' if len(keys) > 10 else ''}")
    verdict = out.ok and run.retained.ok
    lines.append(f"verdict: {'PASS' if verdict else 'FAIL'}")
    return "\n".join(lines)
