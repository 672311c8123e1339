"""The functions' schedules, read from ``template.yaml`` as EventBridge would run them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
DEFAULT_PERIOD_S = 60.0

_RATE = re.compile(r"^rate\((\d+) (second|minute|hour|day)s?\)$")
_UNIT_S = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class ScheduledFunction:
    """A function and how often EventBridge invokes it."""

    handler: str
    period_s: float
    rule: str
    timeout_s: int


def rate_seconds(expression: str) -> float | None:
    """Seconds of a ``rate(...)`` expression; None for anything else (cron)."""
    match = _RATE.match(expression.strip())
    if match is None:
        return None
    return int(match.group(1)) * _UNIT_S[match.group(2)]


def _load(path: Path) -> dict[str, Any]:
    from infra.deploy.template_model import load_template

    return load_template(path)


def _schedule_of(properties: dict[str, Any]) -> str | None:
    for event in (properties.get("Events") or {}).values():
        if isinstance(event, dict) and event.get("Type") == "Schedule":
            schedule = (event.get("Properties") or {}).get("Schedule")
            return schedule if isinstance(schedule, str) else None
    return None


def scheduled_functions(path: Path = TEMPLATE) -> tuple[list[ScheduledFunction], list[str]]:
    """Each scheduled function once (the pollers share a handler); and notes for the user."""
    notes: list[str] = []
    if not path.exists():
        return fallback(), [f"{path.name} not found: every function runs each minute"]
    resources = _load(path).get("Resources", {})
    found: dict[str, ScheduledFunction] = {}
    for name, resource in resources.items():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.get("Properties") or {}
        handler, schedule = properties.get("Handler"), _schedule_of(properties)
        if not isinstance(handler, str) or schedule is None or handler in found:
            continue
        period = rate_seconds(schedule)
        if period is None:
            notes.append(f"{name}: {schedule} is not a rate; run each minute instead")
            period = DEFAULT_PERIOD_S
        timeout = properties.get("Timeout")
        found[handler] = ScheduledFunction(
            handler, period, name, timeout if isinstance(timeout, int) else 300
        )
    return list(found.values()), notes


def fallback() -> list[ScheduledFunction]:
    """Without a template: the poller, scheduler and reconciler, each every minute."""
    return [
        ScheduledFunction("poller.app.handler", DEFAULT_PERIOD_S, "PollerTick", 300),
        ScheduledFunction("scheduler.app.handler", DEFAULT_PERIOD_S, "SchedulerTick", 60),
        ScheduledFunction("reconciler.app.handler", DEFAULT_PERIOD_S, "ReconcilerTick", 300),
    ]
