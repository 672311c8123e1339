"""A small typed client for corral's HTTP API, sync (``Client``) and async (``AsyncClient``).

Both send the same described calls (``corral_client.calls``), so they cannot drift apart.
Each returns the decoded JSON, typed by ``corral_client.types``. The calls are grouped by
what they act on: ``corral_client.jobs``, ``corral_client.queues`` and
``corral_client.account``; ``corral_client.transport`` sends them.
"""

from __future__ import annotations

from corral_client.account import AccountMethods, AsyncAccountMethods
from corral_client.jobs import FINAL_STATUSES, AsyncJobMethods, JobMethods
from corral_client.queues import AsyncQueueMethods, QueueMethods
from corral_client.transport import ApiError

__all__ = ["FINAL_STATUSES", "ApiError", "AsyncClient", "Client"]


class Client(JobMethods, QueueMethods, AccountMethods):
    """Blocking client.

    Args:
        base_url: e.g. ``http://127.0.0.1:3000`` or the deployed API's URL.
        token: the bearer token (an API key locally, a JWT in AWS).
    """


class AsyncClient(AsyncJobMethods, AsyncQueueMethods, AsyncAccountMethods):
    """The same calls as ``Client``, for asyncio code."""
