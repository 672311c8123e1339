"""The poller: drain hooks that make outcomes durable, and the Lambda-aware run."""

from corral.poller.budget import longest_job_ms, unfit
from corral.poller.hooks import RunTally, StoreHooks
from corral.poller.presence import Presence
from corral.poller.run import Poller, PollerReport, PollerSettings, Starter
from corral.poller.runtime import PollerResult, PollerRuntime

__all__ = [
    "Poller",
    "PollerReport",
    "PollerResult",
    "PollerRuntime",
    "PollerSettings",
    "Presence",
    "RunTally",
    "Starter",
    "StoreHooks",
    "longest_job_ms",
    "unfit",
]
