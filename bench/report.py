"""The table: one row per metric, corral beside each peer with the ratio corral/peer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    label: str
    fmt: str
    higher_is_better: bool


METRICS = (
    Metric("enqueue single (jobs/s)", "{:,.0f}", True),
    Metric("enqueue bulk (jobs/s)", "{:,.0f}", True),
    Metric("drain, concurrency 8 (jobs/s)", "{:,.0f}", True),
    Metric("pickup latency p50 (ms)", "{:.2f}", False),
    Metric("drain: client calls/job", "{:.2f}", False),
    Metric("drain: Redis commands/job (incl. in Lua)", "{:.2f}", False),
    Metric("drain: Redis command µs/job", "{:.1f}", False),
    Metric("drain: Redis process CPU µs/job", "{:.1f}", False),
    Metric("enqueue bulk: client calls/job", "{:.3f}", False),
    Metric("enqueue bulk: Redis commands/job", "{:.2f}", False),
    Metric("enqueue single: Redis commands/job", "{:.2f}", False),
)

Results = dict[str, dict[str, float | None]]
"""system -> metric label -> median value (None: not measured)."""


def _cell(metric: Metric, value: float | None) -> str:
    return "n/a" if value is None else metric.fmt.format(value)


def _ratio(corral: float | None, peer: float | None) -> str:
    if corral is None or peer is None or peer == 0:
        return "n/a"
    return f"{corral / peer:.2f}"


def table(results: Results, peers: Sequence[str]) -> str:
    """A markdown table: metric, corral, then each peer and corral/peer."""
    head = ["metric", "corral"]
    for peer in peers:
        head += [peer, f"corral/{peer}"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    corral = results.get("corral", {})
    for metric in METRICS:
        mine = corral.get(metric.label)
        row = [metric.label, _cell(metric, mine)]
        for peer in peers:
            theirs = results.get(peer, {}).get(metric.label)
            row += [_cell(metric, theirs), _ratio(mine, theirs)]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _by_label(label: str) -> Metric:
    return next(m for m in METRICS if m.label == label)


def ratio_line(results: Results, label: str, name: str) -> str:
    """``corral/bullmq NAME ratio: R`` for one metric (``n/a`` when either is missing)."""
    mine = results.get("corral", {}).get(label)
    theirs = results.get("bullmq", {}).get(label)
    ratio = "n/a" if not mine or not theirs else f"{mine / theirs:.2f}"
    return f"corral/bullmq {name} ratio: {ratio}"


def drain_ratio_line(results: Results) -> str:
    """The line ``make bench`` prints first."""
    return ratio_line(results, METRICS[2].label, "drain")


def both_line(results: Results, label: str) -> str:
    """``LABEL: corral X, bullmq Y``: a figure for both, where a ratio would hide them."""
    metric = _by_label(label)
    cells = [f"{s} {_cell(metric, results.get(s, {}).get(label))}" for s in ("corral", "bullmq")]
    return f"{label}: {', '.join(cells)}"


def headline(results: Results) -> str:
    """The first lines of ``make bench``'s output, for a script to read: the drain and the
    single-enqueue ratios against BullMQ, then pickup latency and Redis CPU per drained job
    for both."""
    return "\n".join(
        [
            drain_ratio_line(results),
            ratio_line(results, METRICS[0].label, "enqueue-single"),
            both_line(results, METRICS[3].label),
            both_line(results, METRICS[7].label),
        ]
    )
