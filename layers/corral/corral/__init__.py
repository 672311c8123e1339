"""corral: a serverless job queue for AWS, with Redis as its fast index."""

from corral.context import JobContext
from corral.definition import QueueDefinition, QueueRegistry, RateLimit, Retention
from corral.errors import NonRetryableError
from corral.job import Backoff, Deduplication, JobOptions, JobState, JobStatus
from corral.queue import NewJob, Queue

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
