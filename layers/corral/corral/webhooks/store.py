"""Webhook registrations and signing secrets, in the tenant table (``corral.stats.table``).

A tenant's registrations share one partition (``pk = webhooks#{tenant}``), so listing
them, or finding those of one queue, is one ``Query``. The secret is an item of that
partition too (``sk = secret``), created on first use.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from corral.ids import new_job_id
from corral.quotas import Quotas, check_count
from corral.store import is_condition_failure, now_ms

DEFAULT_EVENTS = ("completed", "dead-lettered")
SECRET_SK = "secret"


@dataclass(frozen=True)
class Registration:
    """A tenant's webhook for one queue."""

    id: str
    tenant: str
    queue: str
    url: str
    events: tuple[str, ...]
    created_at: int

    def wants(self, slug: str) -> bool:
        return slug in self.events


def _pk(tenant: str) -> str:
    return f"webhooks#{tenant}"


def _registration(item: dict[str, Any]) -> Registration:
    return Registration(
        id=item["id"]["S"],
        tenant=item["tenant"]["S"],
        queue=item["queue"]["S"],
        url=item["url"]["S"],
        events=tuple(json.loads(item["events"]["S"])),
        created_at=int(item["createdAt"]["N"]),
    )


class WebhookStore:
    """Registrations and secrets.

    Args:
        client: a boto3 DynamoDB client (standard retries).
        table: the tenant table.
    """

    def __init__(self, client: Any, table: str, *, clock: Callable[[], int] = now_ms) -> None:
        self.client = client
        self.table = table
        self.clock = clock

    def create(
        self,
        tenant: str,
        queue: str,
        url: str,
        events: Sequence[str] | None = None,
        limit: int = Quotas.webhooks,
    ) -> Registration:
        """Register ``url`` for ``queue``'s events; QuotaExceededError past ``limit``."""
        check_count("webhooks", len(self.of_tenant(tenant)), limit)
        now = self.clock()
        registration = Registration(
            "wh" + new_job_id(now), tenant, queue, url, tuple(events or DEFAULT_EVENTS), now
        )
        self.client.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": _pk(tenant)},
                "sk": {"S": f"hook#{registration.id}"},
                "id": {"S": registration.id},
                "tenant": {"S": tenant},
                "queue": {"S": queue},
                "url": {"S": url},
                "events": {"S": json.dumps(list(registration.events))},
                "createdAt": {"N": str(now)},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
        return registration

    def of_tenant(self, tenant: str) -> list[Registration]:
        """The tenant's registrations, oldest first."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :hook)",
            "ExpressionAttributeValues": {":pk": {"S": _pk(tenant)}, ":hook": {"S": "hook#"}},
            "ConsistentRead": True,
        }
        found: list[Registration] = []
        while True:
            reply = self.client.query(**kwargs)
            found.extend(_registration(item) for item in reply.get("Items", []))
            if "LastEvaluatedKey" not in reply:
                return sorted(found, key=lambda r: (r.created_at, r.id))
            kwargs["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

    def for_queue(self, tenant: str, queue: str) -> list[Registration]:
        return [r for r in self.of_tenant(tenant) if r.queue == queue]

    def exists(self, tenant: str, webhook_id: str) -> bool:
        """Whether the registration is still there (a delivery checks before it sends)."""
        key = {"pk": {"S": _pk(tenant)}, "sk": {"S": f"hook#{webhook_id}"}}
        reply = self.client.get_item(
            TableName=self.table, Key=key, ConsistentRead=True, ProjectionExpression="pk"
        )
        return "Item" in reply

    def delete(self, tenant: str, webhook_id: str) -> bool:
        """Remove a registration; False if the tenant has none with that id."""
        try:
            self.client.delete_item(
                TableName=self.table,
                Key={"pk": {"S": _pk(tenant)}, "sk": {"S": f"hook#{webhook_id}"}},
                ConditionExpression="attribute_exists(pk)",
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def secret(self, tenant: str) -> str:
        """The tenant's signing secret, made on first use."""
        key = {"pk": {"S": _pk(tenant)}, "sk": {"S": SECRET_SK}}
        item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        if item:
            return str(item["secret"]["S"])
        fresh = "whsec_" + secrets.token_urlsafe(32)
        try:
            self.client.put_item(
                TableName=self.table,
                Item={**key, "secret": {"S": fresh}, "createdAt": {"N": str(self.clock())}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            return self.secret(tenant)  # made at the same moment by another caller
        return fresh
