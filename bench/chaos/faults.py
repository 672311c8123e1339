"""botocore hooks for a run: DynamoDB and SQS faults, and counters of what AWS was asked.

Registered on a session's event system before any client is made, so every client the
functions build in the process has them:

- ``before-send``: each HTTP attempt is counted; a share is answered with a 500 or a
  throttling error instead of reaching AWS (botocore's retries see and retry those);
- ``before-call``: a share of calls fails outright, as when retries are exhausted;
- ``after-call``: a job table write that recorded a job ``completed`` is counted per job,
  and read units are counted from the items returned.
"""

from __future__ import annotations

import json
import math
import random
import threading
from typing import Any

from botocore.awsrequest import AWSResponse

from bench.chaos import ledger
from bench.chaos.settings import ChaosSettings

SERVICES = ("dynamodb", "sqs")
SQS_BOOST = 5
COMPLETED = {"S": "completed"}
_ERRORS = {
    # service -> (throttling code, its namespace in the JSON protocol's __type)
    "dynamodb": ("ThrottlingException", "com.amazonaws.dynamodb.v20120810"),
    "sqs": ("RequestThrottled", "com.amazonaws.sqs"),
}


class _Body:
    """The raw stream botocore reads a stubbed response's body from."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Any:
        yield self.data


def error_response(url: str, status: int, code: str, namespace: str) -> AWSResponse:
    body = json.dumps({"__type": f"{namespace}#{code}", "message": "injected by chaos"})
    headers = {"content-type": "application/x-amz-json-1.0", "x-amzn-errortype": code}
    return AWSResponse(url, status, headers, _Body(body.encode()))  # type: ignore[arg-type]


def item_bytes(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB bills it, near enough: names plus values."""
    return sum(len(name) + len(json.dumps(value)) for name, value in item.items())


class Hooks:
    """Fault injection and counting for one process.

    Args:
        settings: the fault rates (all zero: count only).
        count: whether to count requests in the ledger.
    """

    def __init__(self, settings: ChaosSettings, *, count: bool = True) -> None:
        self.settings = settings
        self.count = count
        self.random = random.Random(settings.seed)
        self._lock = threading.Lock()

    def _draw(self) -> float:
        with self._lock:
            return self.random.random()

    def install(self, events: Any) -> None:
        """Register on a botocore event emitter (``boto3.DEFAULT_SESSION.events``)."""
        events.register("before-send", self.before_send)
        for service in SERVICES:
            events.register(f"before-call.{service}", self.before_call)
        events.register("before-parameter-build.dynamodb", self.mark_completion)
        events.register("before-parameter-build.eventbridge.PutEvents", self.count_events)
        events.register("after-call.dynamodb", self.after_dynamodb)

    def before_send(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        service, operation = event_name.split(".", 2)[1:]
        if self.count:
            ledger.count(ledger.CALLS, f"{service}.{operation}")
            if service == "sqs":
                size = len(request.body or b"")
                ledger.count(ledger.UNITS, "sqs.requests", max(1, math.ceil(size / 65536)))
        if service not in _ERRORS:
            return None
        # SQS only carries dead letters, a few calls a run: its faults are made likelier.
        draw = self._draw() / (SQS_BOOST if service == "sqs" else 1)
        code, namespace = _ERRORS[service]
        if draw < self.settings.aws_fail_rate:
            ledger.count(ledger.FAULTS, f"{service} 500")
            return error_response(request.url, 500, "InternalServerError", namespace)
        if draw < self.settings.aws_fail_rate + self.settings.aws_throttle_rate:
            ledger.count(ledger.FAULTS, f"{service} throttled")
            return error_response(request.url, 400, code, namespace)
        return None

    def before_call(self, event_name: str, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if self._draw() >= self.settings.aws_outage_rate:
            return None
        service = event_name.split(".")[1]
        ledger.count(ledger.FAULTS, f"{service} unavailable")
        error = {"Code": "ServiceUnavailable", "Message": "injected by chaos (retries spent)"}
        parsed = {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 503}}
        return error_response("https://chaos", 503, "ServiceUnavailable", ""), parsed

    def count_events(self, params: dict[str, Any], **_: Any) -> None:
        """EventBridge bills each entry (per 64 KB) of a ``PutEvents``."""
        if self.count:
            ledger.count(ledger.UNITS, "events.entries", len(params.get("Entries") or []))

    def mark_completion(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        """Remember which job a write would record as completed (and its write units)."""
        item = params.get("Item")
        values = params.get("ExpressionAttributeValues") or {}
        completes = values.get(":status") == COMPLETED or (
            item is not None and item.get("status") == COMPLETED
        )
        key = (params.get("Key") or item or {}).get("pk", {}).get("S")
        if completes and key:
            context["chaos_completes"] = key
        if self.count and item is not None:
            ledger.count(ledger.UNITS, "dynamodb.put_wcu", math.ceil(item_bytes(item) / 1024))

    def after_dynamodb(
        self, http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> None:
        ok = http_response is not None and http_response.status_code < 300
        if ok and context.get("chaos_completes"):
            ledger.count(ledger.RECORDED, context["chaos_completes"])
        if not (self.count and ok):
            return
        items = parsed.get("Items") or ([parsed["Item"]] if parsed.get("Item") else [])
        if items:
            size = sum(item_bytes(i) for i in items)
            ledger.count(ledger.UNITS, "dynamodb.read_bytes", size)
            ledger.count(ledger.UNITS, "dynamodb.rcu", max(1, math.ceil(size / 4096)))
        elif "Items" in parsed or "Item" in parsed or "Count" in parsed:
            ledger.count(ledger.UNITS, "dynamodb.rcu", 1)  # an empty read still costs a unit
