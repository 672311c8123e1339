"""Every call of corral's HTTP contract, as data: the method, the path, the body, and the
type its answer decodes to. ``Client`` and ``AsyncClient`` both send these, so the sync and
async clients cannot drift apart.

Names and ids are checked before they become a path, so none can add segments (``..``,
``/``) that would reach another route.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from corral_client.names import require_identifier as _id
from corral_client.names import require_queue_name as _q
from corral_client.types import (
    AcceptedJob,
    BatchAccepted,
    BatchValid,
    Cancelled,
    Cancelling,
    Cleaned,
    Deleted,
    FlowAccepted,
    Health,
    History,
    Job,
    JobLogs,
    JobPage,
    KeyGroup,
    KeyGroupList,
    Me,
    Paused,
    QueueLimits,
    QueueList,
    QueueStats,
    Redriven,
    Schedule,
    SchedulePage,
    SigningSecret,
    SignInLink,
    Throughput,
    WebhookCreated,
    WebhookList,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request; ``T`` is what its answer decodes to."""

    method: str
    path: str
    json: Any = None
    params: Mapping[str, Any] = field(default_factory=dict)


def options_of(options: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (options or {}).items() if v is not None}


def job_body(data: Any, options: Mapping[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"data": data}
    if options:
        body["options"] = options_of(options)
    return body


class Calls:
    """The calls, one static method each."""

    @staticmethod
    def enqueue(queue: str, data: Any, options: Mapping[str, Any] | None) -> Call[AcceptedJob]:
        return Call("POST", f"/jobs/{_q(queue)}", job_body(data, options))

    @staticmethod
    def enqueue_batch(
        queue: str,
        jobs: Sequence[Mapping[str, Any]],
        atomic: bool = False,
        on_complete: Mapping[str, Any] | None = None,
    ) -> Call[BatchAccepted]:
        items = [job_body(j["data"], j.get("options")) for j in jobs]
        body: dict[str, Any] = {"jobs": items}
        if atomic:
            body["atomic"] = True
        if on_complete is not None:
            body["onComplete"] = dict(on_complete)
        return Call("POST", f"/jobs/{_q(queue)}/batch", body)

    @staticmethod
    def add_flow(flow: Mapping[str, Any]) -> Call[FlowAccepted]:
        return Call("POST", "/flows", dict(flow))

    @staticmethod
    def validate_batch(queue: str, jobs: Sequence[Mapping[str, Any]]) -> Call[BatchValid]:
        items = [job_body(j["data"], j.get("options")) for j in jobs]
        return Call("POST", f"/jobs/{_q(queue)}/validate", {"jobs": items})

    @staticmethod
    def status(queue: str, job_id: str) -> Call[Job]:
        return Call("GET", f"/jobs/{_q(queue)}/{_id(job_id, 'job id')}")

    @staticmethod
    def cancel(queue: str, job_id: str) -> Call[Cancelled | Cancelling]:
        return Call("DELETE", f"/jobs/{_q(queue)}/{_id(job_id, 'job id')}")

    @staticmethod
    def change(queue: str, job_id: str, change: Mapping[str, Any]) -> Call[Job]:
        return Call("PATCH", f"/jobs/{_q(queue)}/{_id(job_id, 'job id')}", options_of(change))

    @staticmethod
    def logs(queue: str, job_id: str, cursor: str | None, limit: int) -> Call[JobLogs]:
        params = options_of({"cursor": cursor, "limit": limit})
        return Call("GET", f"/jobs/{_q(queue)}/{_id(job_id, 'job id')}/logs", params=params)

    @staticmethod
    def retry(queue: str, job_id: str) -> Call[AcceptedJob]:
        return Call("POST", f"/jobs/{_q(queue)}/{_id(job_id, 'job id')}/retry")

    @staticmethod
    def promote(queue: str, job_id: str) -> Call[AcceptedJob]:
        return Call("POST", f"/jobs/{_q(queue)}/{_id(job_id, 'job id')}/promote")

    @staticmethod
    def stats(queue: str | None) -> Call[QueueList | QueueStats]:
        return Call("GET", f"/queues/{_q(queue)}" if queue else "/queues")

    @staticmethod
    def jobs(queue: str, status: str | None, limit: int, cursor: str | None) -> Call[JobPage]:
        params = {"status": status, "limit": limit, "cursor": cursor}
        return Call("GET", f"/queues/{_q(queue)}/jobs", params=options_of(params))

    @staticmethod
    def set_limits(queue: str, change: Mapping[str, Any]) -> Call[QueueLimits]:
        # None is sent: it clears a runtime limit (back to the deployed value).
        return Call("PATCH", f"/queues/{_q(queue)}", dict(change))

    @staticmethod
    def key_groups(queue: str, limit: int = 100) -> Call[KeyGroupList]:
        return Call("GET", f"/queues/{_q(queue)}/groups", params={"limit": limit})

    @staticmethod
    def key_group(queue: str, group: str) -> Call[KeyGroup]:
        return Call("GET", f"/queues/{_q(queue)}/groups/{_id(group, 'group id')}")

    @staticmethod
    def set_key_group(queue: str, group: str, limits: Mapping[str, Any]) -> Call[KeyGroup]:
        # A field left out or None: the jobs' own options.group limits apply again.
        body = options_of(limits)
        return Call("PUT", f"/queues/{_q(queue)}/groups/{_id(group, 'group id')}", body)

    @staticmethod
    def pausing(queue: str, action: str) -> Call[Paused]:
        return Call("POST", f"/queues/{_q(queue)}/{action}")

    @staticmethod
    def clean(queue: str, body: Mapping[str, Any]) -> Call[Cleaned]:
        return Call("POST", f"/queues/{_q(queue)}/clean", options_of(body) or None)

    @staticmethod
    def redrive(queue: str, body: Mapping[str, Any]) -> Call[Redriven]:
        return Call("POST", f"/queues/{_q(queue)}/redrive", options_of(body) or None)

    @staticmethod
    def create_schedule(schedule: Mapping[str, Any]) -> Call[Schedule]:
        return Call("POST", "/schedules", dict(schedule))

    @staticmethod
    def list_schedules() -> Call[SchedulePage]:
        return Call("GET", "/schedules")

    @staticmethod
    def delete_schedule(schedule_id: str) -> Call[Deleted]:
        return Call("DELETE", f"/schedules/{_id(schedule_id, 'schedule id')}")

    @staticmethod
    def schedule_action(schedule_id: str, action: str) -> Call[Schedule]:
        return Call("POST", f"/schedules/{_id(schedule_id, 'schedule id')}/{action}")

    @staticmethod
    def throughput(queue: str) -> Call[Throughput]:
        return Call("GET", f"/queues/{_q(queue)}/throughput")

    @staticmethod
    def get_schedule(schedule_id: str) -> Call[Schedule]:
        return Call("GET", f"/schedules/{_id(schedule_id, 'schedule id')}")

    @staticmethod
    def history(queue: str | None, start: str | None, end: str | None) -> Call[History]:
        return Call("GET", "/stats", params=options_of({"queue": queue, "from": start, "to": end}))

    @staticmethod
    def create_webhook(queue: str, url: str, events: Sequence[str] | None) -> Call[WebhookCreated]:
        body = options_of({"queue": _q(queue), "url": url, "events": events})
        return Call("POST", "/webhooks", body)

    @staticmethod
    def list_webhooks() -> Call[WebhookList]:
        return Call("GET", "/webhooks")

    @staticmethod
    def delete_webhook(webhook_id: str) -> Call[Deleted]:
        return Call("DELETE", f"/webhooks/{_id(webhook_id, 'webhook id')}")

    @staticmethod
    def signing_secret() -> Call[SigningSecret]:
        return Call("GET", "/webhooks/secret")

    @staticmethod
    def sign_in_link(ttl: int | None) -> Call[SignInLink]:
        return Call("POST", "/dashboard/links", options_of({"ttl": ttl}) or None)

    @staticmethod
    def me() -> Call[Me]:
        return Call("GET", "/me")

    @staticmethod
    def health() -> Call[Health]:
        return Call("GET", "/health")
