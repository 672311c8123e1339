"""How long a job a poller can start: its Lambda timeout, less what the run keeps back.

A queue whose job timeout does not fit is a configuration error, not a slow queue: its
pollers would claim nothing, run after run. ``infra.deploy.queues --check`` refuses such a
queue, and the local emulator says so at start.
"""

from __future__ import annotations

from collections.abc import Iterable

from corral.definition import QueueDefinition
from corral.drain import START_MARGIN_MS
from corral.poller.run import PollerSettings

SETUP_ALLOWANCE_MS = 5000
"""What a fresh poller may spend before its first claim (clients, Redis, stalled jobs)."""
LAMBDA_MAX_TIMEOUT_S = 900


def longest_job_ms(poller_timeout_s: int, settings: PollerSettings | None = None) -> int:
    """The longest job timeout a poller of ``poller_timeout_s`` seconds can still start."""
    safety_ms = (settings or PollerSettings()).safety_ms
    return poller_timeout_s * 1000 - safety_ms - START_MARGIN_MS - SETUP_ALLOWANCE_MS


def unfit(definitions: Iterable[QueueDefinition]) -> list[str]:
    """What is wrong with each queue whose jobs could not run in its own poller."""
    problems = []
    for d in definitions:
        if not 1 <= d.poller_timeout_s <= LAMBDA_MAX_TIMEOUT_S:
            problems.append(
                f"queue {d.name}: poller_timeout_s={d.poller_timeout_s} is not a Lambda"
                f" timeout (1 to {LAMBDA_MAX_TIMEOUT_S} s)"
            )
            continue
        room = longest_job_ms(d.poller_timeout_s)
        if d.timeout_ms > room:
            problems.append(
                f"queue {d.name}: timeout_ms={d.timeout_ms} does not fit its poller"
                f" (poller_timeout_s={d.poller_timeout_s} leaves at most {room} ms per job);"
                " raise poller_timeout_s or lower timeout_ms"
            )
    return problems
