"""A small typed client for corral's HTTP API, sync (``Client``) and async (``AsyncClient``).

Both share one description of every call (``_Call``), so they cannot drift apart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from corral.job import JobStatus
from corral.validation import require_identifier as _id
from corral.validation import require_queue_name as _q

FINAL_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})


class ApiError(Exception):
    """The API answered with an error status; ``status`` and ``body`` say which."""

    def __init__(self, status: int, message: str, body: Any) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.body = body


@dataclass(frozen=True)
class _Call:
    method: str
    path: str
    json: Any = None
    params: Mapping[str, Any] = field(default_factory=dict)


def _options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (options or {}).items() if v is not None}


def _job(data: Any, options: Mapping[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"data": data}
    if options:
        body["options"] = _options(options)
    return body


class _Calls:
    """Every call of the HTTP contract, as data.

    Names and ids are checked before they become a path, so none can add segments
    (``..``, ``/``) that would reach another route.
    """

    @staticmethod
    def enqueue(queue: str, data: Any, options: Mapping[str, Any] | None) -> _Call:
        return _Call("POST", f"/jobs/{_q(queue)}", _job(data, options))

    @staticmethod
    def enqueue_batch(queue: str, jobs: Sequence[Mapping[str, Any]]) -> _Call:
        items = [_job(j["data"], j.get("options")) for j in jobs]
        return _Call("POST", f"/jobs/{_q(queue)}/batch", {"jobs": items})

    @staticmethod
    def status(queue: str, job_id: str) -> _Call:
        return _Call("GET", f"/jobs/{_q(queue)}/{_id(job_id, 'job id')}")

    @staticmethod
    def cancel(queue: str, job_id: str) -> _Call:
        return _Call("DELETE", f"/jobs/{_q(queue)}/{_id(job_id, 'job id')}")

    @staticmethod
    def retry(queue: str, job_id: str) -> _Call:
        return _Call("POST", f"/jobs/{_q(queue)}/{_id(job_id, 'job id')}/retry")

    @staticmethod
    def stats(queue: str | None) -> _Call:
        return _Call("GET", f"/queues/{_q(queue)}" if queue else "/queues")

    @staticmethod
    def jobs(queue: str, status: str | None, limit: int, cursor: str | None) -> _Call:
        params = {"status": status, "limit": limit, "cursor": cursor}
        return _Call("GET", f"/queues/{_q(queue)}/jobs", params=_options(params))

    @staticmethod
    def admin(queue: str, action: str, body: Mapping[str, Any] | None = None) -> _Call:
        return _Call("POST", f"/queues/{_q(queue)}/{action}", dict(body) if body else None)

    @staticmethod
    def create_schedule(schedule: Mapping[str, Any]) -> _Call:
        return _Call("POST", "/schedules", dict(schedule))

    @staticmethod
    def list_schedules() -> _Call:
        return _Call("GET", "/schedules")

    @staticmethod
    def delete_schedule(schedule_id: str) -> _Call:
        return _Call("DELETE", f"/schedules/{_id(schedule_id, 'schedule id')}")

    @staticmethod
    def schedule_action(schedule_id: str, action: str) -> _Call:
        return _Call("POST", f"/schedules/{_id(schedule_id, 'schedule id')}/{action}")

    @staticmethod
    def health() -> _Call:
        return _Call("GET", "/health")


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

    def _send(self, call: _Call) -> Any:
        response = self._http.request(call.method, call.path, json=call.json, params=call.params)
        return _result(response)

    def enqueue(self, queue: str, data: Any, options: Mapping[str, Any] | None = None) -> Any:
        """Enqueue one job; ``{jobId, queue, status}`` (and ``deduplicated``)."""
        return self._send(_Calls.enqueue(queue, data, options))

    def enqueue_batch(self, queue: str, jobs: Sequence[Mapping[str, Any]]) -> Any:
        """Enqueue ``[{data, options?}, ...]`` in one request."""
        return self._send(_Calls.enqueue_batch(queue, jobs))

    def status(self, queue: str, job_id: str) -> Any:
        return self._send(_Calls.status(queue, job_id))

    def wait(self, queue: str, job_id: str, *, poll_s: float = 0.5, timeout_s: float = 300) -> Any:
        """Poll a job until it completes, fails or is cancelled."""
        end = time.monotonic() + timeout_s
        while True:
            job = self.status(queue, job_id)
            if job["status"] in FINAL_STATUSES or time.monotonic() > end:
                return job
            time.sleep(poll_s)

    def cancel(self, queue: str, job_id: str) -> Any:
        return self._send(_Calls.cancel(queue, job_id))

    def retry(self, queue: str, job_id: str) -> Any:
        return self._send(_Calls.retry(queue, job_id))

    def stats(self, queue: str | None = None) -> Any:
        """Counts for every queue, or for one."""
        return self._send(_Calls.stats(queue))

    def jobs(
        self, queue: str, status: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> Any:
        return self._send(_Calls.jobs(queue, status, limit, cursor))

    def admin(self, queue: str, action: str, body: Mapping[str, Any] | None = None) -> Any:
        """``pause``, ``resume``, ``clean`` or ``redrive`` (admin tokens only)."""
        return self._send(_Calls.admin(queue, action, body))

    def create_schedule(self, schedule: Mapping[str, Any]) -> Any:
        return self._send(_Calls.create_schedule(schedule))

    def list_schedules(self) -> Any:
        return self._send(_Calls.list_schedules())

    def delete_schedule(self, schedule_id: str) -> Any:
        return self._send(_Calls.delete_schedule(schedule_id))

    def pause_schedule(self, schedule_id: str) -> Any:
        """Stop enqueuing a schedule's jobs (and cancel those waiting for their time)."""
        return self._send(_Calls.schedule_action(schedule_id, "pause"))

    def resume_schedule(self, schedule_id: str) -> Any:
        return self._send(_Calls.schedule_action(schedule_id, "resume"))

    def health(self) -> Any:
        return self._send(_Calls.health())


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

    async def _send(self, call: _Call) -> Any:
        response = await self._http.request(
            call.method, call.path, json=call.json, params=call.params
        )
        return _result(response)

    async def enqueue(self, queue: str, data: Any, options: Mapping[str, Any] | None = None) -> Any:
        return await self._send(_Calls.enqueue(queue, data, options))

    async def enqueue_batch(self, queue: str, jobs: Sequence[Mapping[str, Any]]) -> Any:
        return await self._send(_Calls.enqueue_batch(queue, jobs))

    async def status(self, queue: str, job_id: str) -> Any:
        return await self._send(_Calls.status(queue, job_id))

    async def wait(
        self, queue: str, job_id: str, *, poll_s: float = 0.5, timeout_s: float = 300
    ) -> Any:
        end = time.monotonic() + timeout_s
        while True:
            job = await self.status(queue, job_id)
            if job["status"] in FINAL_STATUSES or time.monotonic() > end:
                return job
            await asyncio.sleep(poll_s)

    async def cancel(self, queue: str, job_id: str) -> Any:
        return await self._send(_Calls.cancel(queue, job_id))

    async def retry(self, queue: str, job_id: str) -> Any:
        return await self._send(_Calls.retry(queue, job_id))

    async def stats(self, queue: str | None = None) -> Any:
        return await self._send(_Calls.stats(queue))

    async def jobs(
        self, queue: str, status: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> Any:
        return await self._send(_Calls.jobs(queue, status, limit, cursor))

    async def admin(self, queue: str, action: str, body: Mapping[str, Any] | None = None) -> Any:
        return await self._send(_Calls.admin(queue, action, body))

    async def create_schedule(self, schedule: Mapping[str, Any]) -> Any:
        return await self._send(_Calls.create_schedule(schedule))

    async def list_schedules(self) -> Any:
        return await self._send(_Calls.list_schedules())

    async def delete_schedule(self, schedule_id: str) -> Any:
        return await self._send(_Calls.delete_schedule(schedule_id))

    async def pause_schedule(self, schedule_id: str) -> Any:
        return await self._send(_Calls.schedule_action(schedule_id, "pause"))

    async def resume_schedule(self, schedule_id: str) -> Any:
        return await self._send(_Calls.schedule_action(schedule_id, "resume"))

    async def health(self) -> Any:
        return await self._send(_Calls.health())
