"""corral: a serverless job queue for AWS, with Redis as its fast index.

The public names below are imported on first use, so that a Lambda handler that needs
only part of the engine (``corral.keys``, ``corral.settings``) does not pay for the rest
at cold start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corral.context import JobContext
    from corral.definition import QueueDefinition, QueueRegistry, RateLimit, Retention
    from corral.errors import NonRetryableError
    from corral.job import Backoff, Deduplication, JobOptions, JobState, JobStatus
    from corral.queue import NewJob, Queue

_EXPORTS = {
    "Backoff": "corral.job",
    "Deduplication": "corral.job",
    "JobContext": "corral.context",
    "JobOptions": "corral.job",
    "JobState": "corral.job",
    "JobStatus": "corral.job",
    "NewJob": "corral.queue",
    "NonRetryableError": "corral.errors",
    "Queue": "corral.queue",
    "QueueDefinition": "corral.definition",
    "QueueRegistry": "corral.definition",
    "RateLimit": "corral.definition",
    "Retention": "corral.definition",
}

__all__ = [
    "Backoff",
    "Deduplication",
    "JobContext",
    "JobOptions",
    "JobState",
    "JobStatus",
    "NewJob",
    "NonRetryableError",
    "Queue",
    "QueueDefinition",
    "QueueRegistry",
    "RateLimit",
    "Retention",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'corral' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
