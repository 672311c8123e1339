"""The functions' schedules, read from ``template.yaml`` as EventBridge would run them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
DEFAULT_PERIOD_S = 60.0
POLLER_HANDLER = "poller.app.handler"

_RATE = re.compile(r"^rate\((\d+) (second|minute|hour|day)s?\)$")
_UNIT_S = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


DEFAULT_TIMEOUT_S = 300
DEFAULT_MEMORY_MB = 512


@dataclass(frozen=True)
class FunctionSize:
    """What Lambda gives one invocation: its timeout and its memory."""

    timeout_s: int = DEFAULT_TIMEOUT_S
    memory_mb: int = DEFAULT_MEMORY_MB


@dataclass(frozen=True)
class ScheduledFunction:
    """A function and how often EventBridge invokes it."""

    handler: str
    period_s: float
    rule: str
    timeout_s: int
    memory_mb: int = DEFAULT_MEMORY_MB

    @property
    def size(self) -> FunctionSize:
        return FunctionSize(self.timeout_s, self.memory_mb)


def rate_seconds(expression: str) -> float | None:
    """Seconds of a ``rate(...)`` expression; None for anything else (cron)."""
    match = _RATE.match(expression.strip())
    if match is None:
        return None
    return int(match.group(1)) * _UNIT_S[match.group(2)]


def _load(path: Path) -> dict[str, Any]:
    from infra.deploy.template_model import load_template

    return load_template(path)


def size_of(properties: dict[str, Any], template: dict[str, Any]) -> FunctionSize:
    """A function's ``Timeout`` and ``MemorySize``, mappings and parameters resolved."""
    from infra.deploy.template_model import resolve

    timeout = resolve(properties.get("Timeout"), template)
    memory = resolve(properties.get("MemorySize"), template)
    return FunctionSize(
        timeout if isinstance(timeout, int) else DEFAULT_TIMEOUT_S,
        memory if isinstance(memory, int) else DEFAULT_MEMORY_MB,
    )


def poller_sizes(path: Path = TEMPLATE) -> dict[str, FunctionSize]:
    """Each queue's poller function size (its ``CORRAL_QUEUE`` names the queue)."""
    if not path.exists():
        return {}
    from infra.deploy.template_model import functions

    template = _load(path)
    sizes: dict[str, FunctionSize] = {}
    for function in functions(template).values():
        queue = function.environment.get("CORRAL_QUEUE")
        if function.handler == POLLER_HANDLER and isinstance(queue, str):
            sizes[queue] = size_of(function.properties, template)
    return sizes


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
    template = _load(path)
    resources = template.get("Resources", {})
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
        size = size_of({**_globals(template), **properties}, template)
        found[handler] = ScheduledFunction(handler, period, name, size.timeout_s, size.memory_mb)
    return list(found.values()), notes


def _globals(template: dict[str, Any]) -> dict[str, Any]:
    function: dict[str, Any] = template.get("Globals", {}).get("Function", {})
    return function


def fallback() -> list[ScheduledFunction]:
    """Without a template: the poller, scheduler and reconciler, each every minute."""
    return [
        ScheduledFunction(POLLER_HANDLER, DEFAULT_PERIOD_S, "PollerTick", 300),
        ScheduledFunction("scheduler.app.handler", DEFAULT_PERIOD_S, "SchedulerTick", 60),
        ScheduledFunction("reconciler.app.handler", DEFAULT_PERIOD_S, "ReconcilerTick", 300),
    ]
