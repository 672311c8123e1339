"""Noticing at once that Redis lost a queue, and asking for a reconcile right away.

Redis is a rebuildable index (invariant 1): after a flush, or a failover onto an empty
replica, the reconciler puts every pending job back. Its schedule is minutes apart, so
the API and the pollers watch a marker key in the queue's hash slot instead: each sets
it if missing, and the one that finds it missing starts a reconcile of that queue. The
very first use of a queue finds it missing too; that reconcile finds nothing to do.

An enqueue sets and tests the marker inside ``enqueue.lua`` (no round trip of its own)
when its ``Queue`` holds a marker, and calls ``lost`` when it was missing; so does a poller,
which sets and tests it as it registers and at each refresh (``poller_join.lua``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_lambda.client import LambdaClient

logger = logging.getLogger(__name__)

Reconcile = Callable[[str], Awaitable[None]]
"""Starts a reconcile of one queue (an async Lambda invoke, or the emulator's reconciler)."""

LOST_SOURCE = "corral.index-lost"
"""The ``source`` of a reconcile started because Redis lost a queue."""


class IndexMarker:
    """Starts a reconcile of a queue whose marker its user found gone.

    Args:
        reconcile: starts a reconcile of a queue (None: only the schedule reconciles).
    """

    def __init__(self, reconcile: Reconcile | None) -> None:
        self.reconcile = reconcile

    async def lost(self, queue: str) -> None:
        """The queue's marker was missing (and is now set): start a reconcile. Never raises."""
        # INFO, not WARNING: a new queue looks the same, and the reconciler warns about
        # what it actually had to put back.
        logger.info(
            "Redis holds no marker of queue %s (new, flushed or failed over): reconciling now",
            queue,
            extra={"queue": queue},
        )
        if self.reconcile is not None:
            try:
                await self.reconcile(queue)
            except Exception:
                logger.warning("could not start a reconcile of %s", queue, exc_info=True)


def lambda_reconcile(client: LambdaClient, function_name: str) -> Reconcile:
    """An async (``Event``) invoke of the reconciler function for one queue."""

    async def start(queue: str) -> None:
        payload = {"queues": [queue], "source": LOST_SOURCE}
        await asyncio.to_thread(
            client.invoke,
            FunctionName=function_name,
            InvocationType="Event",
            Payload=json.dumps(payload).encode(),
        )

    return start
