"""A small typed client for corral's HTTP API, sync (``Client``) and async (``AsyncClient``).

Both send the same described calls (``corral_client.calls``), so they cannot drift apart.
Each returns the decoded JSON, typed by ``corral_client.types``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, cast

import httpx

from corral_client import types as reply
from corral_client.calls import Call, Calls

T = TypeVar("T")

FINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
"""The statuses a job does not leave."""


def field_errors(body: Any) -> list[str]:
    """``where: what`` for each field error of an error answer (its ``details``)."""
    details = body.get("details") if isinstance(body, dict) else None
    if not isinstance(details, list):
        return []
    found = []
    for detail in details:
        if isinstance(detail, dict) and "msg" in detail:
            where = ".".join(str(part) for part in detail.get("loc") or [])
            found.append(f"{where}: {detail['msg']}" if where else str(detail["msg"]))
    return found


class ApiError(Exception):
    """The API answered with an error status; ``status`` and ``body`` say which, and
    ``fields`` lists the field errors of a 422 (``where: what``)."""

    def __init__(self, status: int, message: str, body: Any) -> None:
        self.fields = field_errors(body)
        lines = "".join(f"\n  {line}" for line in self.fields)
        super().__init__(f"{status}: {message}{lines}")
        self.status = status
        self.message = message
        self.body = body


def _result(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if response.status_code >= 400:
        message = body.get("message") or body.get("detail") if isinstance(body, dict) else body
        raise ApiError(response.status_code, str(message), body)
    return body


def _headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


class Client:
    """Blocking client.

    Args:
        base_url: e.g. ``http://127.0.0.1:3000`` or the deployed API's URL.
        token: the bearer token (an API key locally, a JWT in AWS).
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url, headers=_headers(token), timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, call: Call[T]) -> T:
        response = self._http.request(call.method, call.path, json=call.json, params=call.params)
        return cast(T, _result(response))

    def enqueue(
        self, queue: str, data: Any, options: Mapping[str, Any] | None = None
    ) -> reply.AcceptedJob:
        """Enqueue one job (``deduplicated`` is true when an existing job answered)."""
        return self._send(Calls.enqueue(queue, data, options))

    def enqueue_batch(
        self,
        queue: str,
        jobs: Sequence[Mapping[str, Any]],
        *,
        atomic: bool = False,
        on_complete: Mapping[str, Any] | None = None,
    ) -> reply.BatchAccepted:
        """Enqueue ``[{data, options?}, ...]`` in one request; each item is answered on its
        own (``status`` "rejected" with ``errors``), or, ``atomic``, all or none (422).
        ``on_complete`` (``{queue, data, options?}``) runs once they all completed, with
        their results (a flow: then any bad item rejects the batch)."""
        return self._send(Calls.enqueue_batch(queue, jobs, atomic, on_complete))

    def add_flow(self, flow: Mapping[str, Any]) -> reply.FlowAccepted:
        """Add ``{queue, data, options?, children?: [...]}``: a parent that runs after its
        children, with their results."""
        return self._send(Calls.add_flow(flow))

    def validate_batch(self, queue: str, jobs: Sequence[Mapping[str, Any]]) -> reply.BatchValid:
        """Check ``[{data, options?}, ...]`` as ``enqueue_batch`` would, writing nothing
        (an ``ApiError`` 422 names every bad job)."""
        return self._send(Calls.validate_batch(queue, jobs))

    def status(self, queue: str, job_id: str) -> reply.Job:
        return self._send(Calls.status(queue, job_id))

    def wait(
        self, queue: str, job_id: str, *, poll_s: float = 0.5, timeout_s: float = 300
    ) -> reply.Job:
        """Poll a job until it completes, fails or is cancelled (or ``timeout_s`` passes)."""
        end = time.monotonic() + timeout_s
        while True:
            job = self.status(queue, job_id)
            if job["status"] in FINAL_STATUSES or time.monotonic() > end:
                return job
            time.sleep(poll_s)

    def cancel(self, queue: str, job_id: str) -> reply.Cancelled | reply.Cancelling:
        """Cancel a job: at once if it has not started, ``cancelling`` if it runs."""
        return self._send(Calls.cancel(queue, job_id))

    def change(self, queue: str, job_id: str, **change: Any) -> reply.Job:
        """Change ``data``, ``priority`` or ``delay`` (ms from now) of a job not yet started."""
        return self._send(Calls.change(queue, job_id, change))

    def logs(
        self, queue: str, job_id: str, cursor: str | None = None, limit: int = 100
    ) -> reply.JobLogs:
        """A page of the lines the job's handler logged, oldest first."""
        return self._send(Calls.logs(queue, job_id, cursor, limit))

    def retry(self, queue: str, job_id: str) -> reply.AcceptedJob:
        return self._send(Calls.retry(queue, job_id))

    def promote(self, queue: str, job_id: str) -> reply.AcceptedJob:
        """Make a delayed job due now (409 if it is not delayed)."""
        return self._send(Calls.promote(queue, job_id))

    def stats(self, queue: str | None = None) -> reply.QueueList | reply.QueueStats:
        """Counts for every queue (``QueueList``), or for one (``QueueStats``)."""
        return self._send(Calls.stats(queue))

    def jobs(
        self, queue: str, status: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> reply.JobPage:
        return self._send(Calls.jobs(queue, status, limit, cursor))

    def throughput(self, queue: str) -> reply.Throughput:
        """Completed and failed jobs per minute over the last hour."""
        return self._send(Calls.throughput(queue))

    def set_limits(self, queue: str, **change: Any) -> reply.QueueLimits:
        """Set ``concurrency``, ``rateLimit`` or ``groupConcurrency`` at runtime (admin).

        A limit given as None goes back to the queue's deployed value.
        """
        return self._send(Calls.set_limits(queue, change))

    def key_groups(self, queue: str, limit: int = 100) -> reply.KeyGroupList:
        """The queue's key groups, busiest first: limits, jobs running and waiting (admin)."""
        return self._send(Calls.key_groups(queue, limit))

    def key_group(self, queue: str, group: str) -> reply.KeyGroup:
        """A key group's limits in force (jobs sharing ``options.group.id``) (admin)."""
        return self._send(Calls.key_group(queue, group))

    def set_key_group(self, queue: str, group: str, **limits: Any) -> reply.KeyGroup:
        """Set a key group's ``concurrency`` and ``rateLimit`` at runtime (admin); those
        left out come from its jobs' ``options.group`` again."""
        return self._send(Calls.set_key_group(queue, group, limits))

    def pause(self, queue: str) -> reply.Paused:
        return self._send(Calls.pausing(queue, "pause"))

    def resume(self, queue: str) -> reply.Paused:
        return self._send(Calls.pausing(queue, "resume"))

    def clean(self, queue: str, **body: Any) -> reply.Cleaned:
        """Remove finished jobs: ``status``, ``grace`` (ms) and ``limit``."""
        return self._send(Calls.clean(queue, body))

    def redrive(self, queue: str, **body: Any) -> reply.Redriven:
        """Move the queue's dead letters back to waiting (``limit``)."""
        return self._send(Calls.redrive(queue, body))

    def create_schedule(self, schedule: Mapping[str, Any]) -> reply.Schedule:
        return self._send(Calls.create_schedule(schedule))

    def list_schedules(self) -> reply.SchedulePage:
        return self._send(Calls.list_schedules())

    def get_schedule(self, schedule_id: str) -> reply.Schedule:
        return self._send(Calls.get_schedule(schedule_id))

    def delete_schedule(self, schedule_id: str) -> reply.Deleted:
        return self._send(Calls.delete_schedule(schedule_id))

    def pause_schedule(self, schedule_id: str) -> reply.Schedule:
        """Stop enqueuing a schedule's jobs (and cancel those waiting for their time)."""
        return self._send(Calls.schedule_action(schedule_id, "pause"))

    def resume_schedule(self, schedule_id: str) -> reply.Schedule:
        return self._send(Calls.schedule_action(schedule_id, "resume"))

    def history(
        self, queue: str | None = None, start: str | None = None, end: str | None = None
    ) -> reply.History:
        """The caller's daily counts, success rate, durations and top errors (``/stats``)."""
        return self._send(Calls.history(queue, start, end))

    def create_webhook(
        self, queue: str, url: str, events: Sequence[str] | None = None
    ) -> reply.WebhookCreated:
        return self._send(Calls.create_webhook(queue, url, events))

    def list_webhooks(self) -> reply.WebhookList:
        return self._send(Calls.list_webhooks())

    def delete_webhook(self, webhook_id: str) -> reply.Deleted:
        return self._send(Calls.delete_webhook(webhook_id))

    def signing_secret(self) -> reply.SigningSecret:
        """The secret that signs the caller's webhook deliveries (a receiver checks them
        with ``corral.webhooks.signing.verify``)."""
        return self._send(Calls.signing_secret())

    def sign_in_link(self, ttl: int | None = None) -> reply.SignInLink:
        """A one-time link path (``/dashboard#signin=...``) that opens the dashboard signed
        in with this client's token; it works once, within ``ttl`` seconds (default 60)."""
        return self._send(Calls.sign_in_link(ttl))

    def me(self) -> reply.Me:
        return self._send(Calls.me())

    def health(self) -> reply.Health:
        return self._send(Calls.health())


class AsyncClient:
    """The same calls as ``Client``, for asyncio code."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=_headers(token), timeout=timeout, transport=transport
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _send(self, call: Call[T]) -> T:
        response = await self._http.request(
            call.method, call.path, json=call.json, params=call.params
        )
        return cast(T, _result(response))

    async def enqueue(
        self, queue: str, data: Any, options: Mapping[str, Any] | None = None
    ) -> reply.AcceptedJob:
        """Enqueue one job (``deduplicated`` is true when an existing job answered)."""
        return await self._send(Calls.enqueue(queue, data, options))

    async def enqueue_batch(
        self,
        queue: str,
        jobs: Sequence[Mapping[str, Any]],
        *,
        atomic: bool = False,
        on_complete: Mapping[str, Any] | None = None,
    ) -> reply.BatchAccepted:
        """Enqueue ``[{data, options?}, ...]`` in one request; each item is answered on its
        own (``status`` "rejected" with ``errors``), or, ``atomic``, all or none (422).
        ``on_complete`` (``{queue, data, options?}``) runs once they all completed, with
        their results (a flow: then any bad item rejects the batch)."""
        return await self._send(Calls.enqueue_batch(queue, jobs, atomic, on_complete))

    async def add_flow(self, flow: Mapping[str, Any]) -> reply.FlowAccepted:
        """Add ``{queue, data, options?, children?: [...]}``: a parent that runs after its
        children, with their results."""
        return await self._send(Calls.add_flow(flow))

    async def validate_batch(
        self, queue: str, jobs: Sequence[Mapping[str, Any]]
    ) -> reply.BatchValid:
        """Check ``[{data, options?}, ...]`` as ``enqueue_batch`` would, writing nothing."""
        return await self._send(Calls.validate_batch(queue, jobs))

    async def status(self, queue: str, job_id: str) -> reply.Job:
        return await self._send(Calls.status(queue, job_id))

    async def wait(
        self, queue: str, job_id: str, *, poll_s: float = 0.5, timeout_s: float = 300
    ) -> reply.Job:
        """Poll a job until it completes, fails or is cancelled (or ``timeout_s`` passes)."""
        end = time.monotonic() + timeout_s
        while True:
            job = await self.status(queue, job_id)
            if job["status"] in FINAL_STATUSES or time.monotonic() > end:
                return job
            await asyncio.sleep(poll_s)

    async def cancel(self, queue: str, job_id: str) -> reply.Cancelled | reply.Cancelling:
        """Cancel a job: at once if it has not started, ``cancelling`` if it runs."""
        return await self._send(Calls.cancel(queue, job_id))

    async def change(self, queue: str, job_id: str, **change: Any) -> reply.Job:
        """Change ``data``, ``priority`` or ``delay`` (ms from now) of a job not yet started."""
        return await self._send(Calls.change(queue, job_id, change))

    async def logs(
        self, queue: str, job_id: str, cursor: str | None = None, limit: int = 100
    ) -> reply.JobLogs:
        """A page of the lines the job's handler logged, oldest first."""
        return await self._send(Calls.logs(queue, job_id, cursor, limit))

    async def retry(self, queue: str, job_id: str) -> reply.AcceptedJob:
        return await self._send(Calls.retry(queue, job_id))

    async def promote(self, queue: str, job_id: str) -> reply.AcceptedJob:
        """Make a delayed job due now (409 if it is not delayed)."""
        return await self._send(Calls.promote(queue, job_id))

    async def stats(self, queue: str | None = None) -> reply.QueueList | reply.QueueStats:
        """Counts for every queue (``QueueList``), or for one (``QueueStats``)."""
        return await self._send(Calls.stats(queue))

    async def jobs(
        self, queue: str, status: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> reply.JobPage:
        return await self._send(Calls.jobs(queue, status, limit, cursor))

    async def throughput(self, queue: str) -> reply.Throughput:
        """Completed and failed jobs per minute over the last hour."""
        return await self._send(Calls.throughput(queue))

    async def set_limits(self, queue: str, **change: Any) -> reply.QueueLimits:
        """Set ``concurrency``, ``rateLimit`` or ``groupConcurrency`` at runtime (admin).

        A limit given as None goes back to the queue's deployed value.
        """
        return await self._send(Calls.set_limits(queue, change))

    async def key_groups(self, queue: str, limit: int = 100) -> reply.KeyGroupList:
        """The queue's key groups, busiest first: limits, jobs running and waiting (admin)."""
        return await self._send(Calls.key_groups(queue, limit))

    async def key_group(self, queue: str, group: str) -> reply.KeyGroup:
        """A key group's limits in force (jobs sharing ``options.group.id``) (admin)."""
        return await self._send(Calls.key_group(queue, group))

    async def set_key_group(self, queue: str, group: str, **limits: Any) -> reply.KeyGroup:
        """Set a key group's ``concurrency`` and ``rateLimit`` at runtime (admin); those
        left out come from its jobs' ``options.group`` again."""
        return await self._send(Calls.set_key_group(queue, group, limits))

    async def pause(self, queue: str) -> reply.Paused:
        return await self._send(Calls.pausing(queue, "pause"))

    async def resume(self, queue: str) -> reply.Paused:
        return await self._send(Calls.pausing(queue, "resume"))

    async def clean(self, queue: str, **body: Any) -> reply.Cleaned:
        """Remove finished jobs: ``status``, ``grace`` (ms) and ``limit``."""
        return await self._send(Calls.clean(queue, body))

    async def redrive(self, queue: str, **body: Any) -> reply.Redriven:
        """Move the queue's dead letters back to waiting (``limit``)."""
        return await self._send(Calls.redrive(queue, body))

    async def create_schedule(self, schedule: Mapping[str, Any]) -> reply.Schedule:
        return await self._send(Calls.create_schedule(schedule))

    async def list_schedules(self) -> reply.SchedulePage:
        return await self._send(Calls.list_schedules())

    async def get_schedule(self, schedule_id: str) -> reply.Schedule:
        return await self._send(Calls.get_schedule(schedule_id))

    async def delete_schedule(self, schedule_id: str) -> reply.Deleted:
        return await self._send(Calls.delete_schedule(schedule_id))

    async def pause_schedule(self, schedule_id: str) -> reply.Schedule:
        """Stop enqueuing a schedule's jobs (and cancel those waiting for their time)."""
        return await self._send(Calls.schedule_action(schedule_id, "pause"))

    async def resume_schedule(self, schedule_id: str) -> reply.Schedule:
        return await self._send(Calls.schedule_action(schedule_id, "resume"))

    async def history(
        self, queue: str | None = None, start: str | None = None, end: str | None = None
    ) -> reply.History:
        """The caller's daily counts, success rate, durations and top errors (``/stats``)."""
        return await self._send(Calls.history(queue, start, end))

    async def create_webhook(
        self, queue: str, url: str, events: Sequence[str] | None = None
    ) -> reply.WebhookCreated:
        return await self._send(Calls.create_webhook(queue, url, events))

    async def list_webhooks(self) -> reply.WebhookList:
        return await self._send(Calls.list_webhooks())

    async def delete_webhook(self, webhook_id: str) -> reply.Deleted:
        return await self._send(Calls.delete_webhook(webhook_id))

    async def signing_secret(self) -> reply.SigningSecret:
        """The secret that signs the caller's webhook deliveries (a receiver checks them
        with ``corral.webhooks.signing.verify``)."""
        return await self._send(Calls.signing_secret())

    async def sign_in_link(self, ttl: int | None = None) -> reply.SignInLink:
        """A one-time link path (``/dashboard#signin=...``) that opens the dashboard signed
        in with this client's token; it works once, within ``ttl`` seconds (default 60)."""
        return await self._send(Calls.sign_in_link(ttl))

    async def me(self) -> reply.Me:
        return await self._send(Calls.me())

    async def health(self) -> reply.Health:
        return await self._send(Calls.health())
