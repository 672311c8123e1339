"""A flow's dependency state in the job table, the record of truth.

A flow's nodes are ordinary job records with a few more attributes:

- a child: ``flowParent`` (JSON ``[queue, id]``);
- a parent: ``flowChildren`` (JSON ``[[queue, id, ignoreFailure], ...]``),
  ``pendingChildren`` (children not yet done), ``doneChildren`` (a string set of the ids
  of the children counted so far) and, once one failed it, ``failedChild``.

``record_child`` is the durable half of "a child finished": a conditional update that
counts each child once (``ADD`` to ``doneChildren`` under ``NOT contains``), so that
replaying it after a crash changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from corral.job import JobStatus
from corral.records import BY_QUEUE_STATUS, Item, JobRecord, from_item, pk, to_item
from corral.store import JobStore, is_condition_failure

WAITING = JobStatus.WAITING_CHILDREN.value


@dataclass(frozen=True)
class ChildLink:
    """A parent's child: where it is, and whether its failure is ignored."""

    queue: str
    job_id: str
    ignore_failure: bool = False


@dataclass
class ParentState:
    """A parent record's dependency state."""

    record: JobRecord
    children: list[ChildLink]
    pending: int
    done: set[str] = field(default_factory=set)
    failed_child: str | None = None
    parent: dict[str, Any] | None = None
    """Its own parent's link, as a child's opts carry it (a parent that is a child)."""


@dataclass
class FlowRecord:
    """A node to write: its job record and its links."""

    record: JobRecord
    parent: dict[str, Any] | None = None
    """As a child's opts carry it: ``{queue, id, ignore}``."""
    children: list[ChildLink] = field(default_factory=list)


def flow_item(node: FlowRecord) -> Item:
    item = to_item(node.record)
    if node.parent is not None:
        item["flowParent"] = {"S": json.dumps(node.parent)}
    if node.children:
        links = [[c.queue, c.job_id, c.ignore_failure] for c in node.children]
        item["flowChildren"] = {"S": json.dumps(links)}
        item["pendingChildren"] = {"N": str(len(node.children))}
    return item


def children_of(item: Item) -> list[ChildLink] | None:
    """A parent's links to its children (None: the item is not a parent)."""
    links = item.get("flowChildren")
    if not links or "S" not in links:
        return None
    return [ChildLink(q, i, bool(ignore)) for q, i, ignore in json.loads(links["S"])]


def parent_state(item: Item) -> ParentState | None:
    """The dependency state of a parent's item (None: the item is not a parent)."""
    children = children_of(item)
    if children is None:
        return None
    done = item.get("doneChildren", {}).get("SS", [])
    failed = item.get("failedChild", {}).get("S")
    return ParentState(
        from_item(item),
        children,
        int(item.get("pendingChildren", {}).get("N", "0")),
        set(done),
        failed,
        parent_of(item),
    )


def parent_of(item: Item) -> dict[str, Any] | None:
    """A child's link to its parent: ``{queue, id, ignore}``."""
    link = item.get("flowParent")
    if not link or "S" not in link:
        return None
    value: dict[str, Any] = json.loads(link["S"])
    return value


class FlowStore:
    """Flow reads and conditional writes on the job table of ``store``."""

    def __init__(self, store: JobStore) -> None:
        self.store = store
        self.client = store.client
        self.table = store.table

    def _key(self, queue: str, job_id: str) -> Item:
        return {"pk": {"S": pk(queue, job_id)}}

    def item(self, queue: str, job_id: str) -> Item | None:
        reply = self.client.get_item(
            TableName=self.table, Key=self._key(queue, job_id), ConsistentRead=True
        )
        item: Item | None = reply.get("Item")
        return item

    def parent(self, queue: str, job_id: str) -> ParentState | None:
        item = self.item(queue, job_id)
        return parent_state(item) if item else None

    # -- creation ---------------------------------------------------------------------

    def _put(self, node: FlowRecord) -> bool:
        try:
            self.client.put_item(
                TableName=self.table,
                Item=flow_item(node),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def create(self, nodes: Sequence[FlowRecord]) -> list[str]:
        """Write every node's record; all or nothing.

        Returns the ids that were already taken (then nothing is left written).
        """
        outcomes = list(self.store._pool.map(self._put_or_error, nodes))
        written = [n for n, o in zip(nodes, outcomes, strict=True) if o is True]
        taken = [n.record.job_id for n, o in zip(nodes, outcomes, strict=True) if o is False]
        errors = [o for o in outcomes if isinstance(o, Exception)]
        if errors or taken:
            self.delete(written)
        if errors:
            raise errors[0]
        return taken

    def _put_or_error(self, node: FlowRecord) -> bool | Exception:
        try:
            return self._put(node)
        except Exception as exc:
            return exc

    def delete(self, nodes: Sequence[FlowRecord]) -> None:
        """Take back records that Redis never got (best effort: the reconciler adds them)."""
        for node in nodes:
            try:
                self.client.delete_item(
                    TableName=self.table, Key=self._key(node.record.queue, node.record.job_id)
                )
            except ClientError:
                continue

    # -- a child finished: the durable half ------------------------------------------

    def record_child(
        self, queue: str, parent_id: str, child_id: str, fails_parent: bool, error: Any = None
    ) -> ParentState | None:
        """Count ``child_id`` as done on its parent, once; fail the parent if it must.

        Returns the parent's state after the update (or as it was, for a replay); None if
        the parent record is gone.
        """
        now = self.store.clock()
        values: dict[str, Any] = {
            ":c": {"S": child_id},
            ":cs": {"SS": [child_id]},
            ":now": {"N": str(now)},
        }
        names: dict[str, str] = {}
        condition = "attribute_exists(pk) AND NOT contains(doneChildren, :c)"
        if fails_parent:
            names["#s"] = "status"
            names["#e"] = "error"
            values.update(
                {
                    ":wc": {"S": WAITING},
                    ":failed": {"S": JobStatus.FAILED.value},
                    ":qs": {"S": f"{queue}#failed"},
                    ":err": {"S": json.dumps(child_failed_error(child_id, error))},
                }
            )
            update = (
                "ADD doneChildren :cs SET failedChild = :c, #s = :failed, qs = :qs, "
                "#e = :err, completedAt = :now, updatedAt = :now"
            )
            condition += " AND #s = :wc"
        else:
            values[":one"] = {"N": "1"}
            update = (
                "ADD doneChildren :cs SET pendingChildren = pendingChildren - :one, "
                "updatedAt = :now"
            )
        try:
            kwargs: dict[str, Any] = {}
            if names:
                kwargs["ExpressionAttributeNames"] = names
            reply = self.client.update_item(
                TableName=self.table,
                Key=self._key(queue, parent_id),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                **kwargs,
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            return self.parent(queue, parent_id)  # a replay, or the parent moved on
        return parent_state(reply["Attributes"])

    def _applied(self, **update: Any) -> bool:
        """One conditional update of the job table; False if its condition did not hold."""
        try:
            self.client.update_item(TableName=self.table, **update)
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def release(self, queue: str, parent_id: str) -> bool:
        """``waiting-children`` -> ``pending`` once no child is pending; False if not now."""
        return self._applied(
            Key=self._key(queue, parent_id),
            UpdateExpression="SET #s = :pending, qs = :qs, updatedAt = :now",
            ConditionExpression="#s = :wc AND pendingChildren <= :zero",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":pending": {"S": JobStatus.PENDING.value},
                ":qs": {"S": f"{queue}#pending"},
                ":now": {"N": str(self.store.clock())},
                ":wc": {"S": WAITING},
                ":zero": {"N": "0"},
            },
        )

    def rearm(self, queue: str, parent_id: str, child_id: str) -> bool:
        """``failed`` (because of ``child_id``) -> ``waiting-children`` for that child again;
        False if the parent did not fail because of it."""
        return self._applied(
            Key=self._key(queue, parent_id),
            UpdateExpression=(
                "SET #s = :wc, qs = :qs, updatedAt = :now "
                "REMOVE failedChild, #e, completedAt, expiresAt DELETE doneChildren :cs"
            ),
            ConditionExpression="#s = :failed AND failedChild = :c",
            ExpressionAttributeNames={"#s": "status", "#e": "error"},
            ExpressionAttributeValues={
                ":wc": {"S": WAITING},
                ":qs": {"S": f"{queue}#{WAITING}"},
                ":now": {"N": str(self.store.clock())},
                ":failed": {"S": JobStatus.FAILED.value},
                ":c": {"S": child_id},
                ":cs": {"SS": [child_id]},
            },
        )

    def wait_again(self, queue: str, parent_id: str, child_id: str) -> bool:
        """Un-count ``child_id`` (its failure was ignored, or it was cancelled) before it is
        retried: a parent waiting for its children, or released and never started, waits
        for it again. False if the parent did not count it or moved on."""
        return self._applied(
            Key=self._key(queue, parent_id),
            UpdateExpression=(
                "SET #s = :wc, qs = :qs, pendingChildren = pendingChildren + :one, "
                "updatedAt = :now DELETE doneChildren :cs"
            ),
            ConditionExpression=(
                "contains(doneChildren, :c) AND attribute_not_exists(failedChild) AND "
                "(#s = :wc OR (#s = :pending AND attemptsMade = :zero))"
            ),
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":wc": {"S": WAITING},
                ":pending": {"S": JobStatus.PENDING.value},
                ":qs": {"S": f"{queue}#{WAITING}"},
                ":now": {"N": str(self.store.clock())},
                ":one": {"N": "1"},
                ":zero": {"N": "0"},
                ":c": {"S": child_id},
                ":cs": {"SS": [child_id]},
            },
        )

    def cancel(self, queue: str, parent_id: str) -> bool:
        """``waiting-children`` -> ``cancelled``; False if the parent is not waiting."""
        now = self.store.clock()
        expires = self.store.retention.of(JobStatus.CANCELLED) or 0
        return self._applied(
            Key=self._key(queue, parent_id),
            UpdateExpression=(
                "SET #s = :cancelled, qs = :qs, completedAt = :now, updatedAt = :now, "
                "expiresAt = :exp"
            ),
            ConditionExpression="#s = :wc",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":cancelled": {"S": JobStatus.CANCELLED.value},
                ":qs": {"S": f"{queue}#cancelled"},
                ":now": {"N": str(now)},
                ":exp": {"N": str(now // 1000 + expires)},
                ":wc": {"S": WAITING},
            },
        )

    # -- what the reconciler reads ------------------------------------------------------

    def parents(self, queue: str, status: JobStatus, page_size: int = 100) -> Iterator[Item]:
        """Parent items of ``queue`` in ``status`` (the byQueueStatus index)."""
        start: dict[str, Any] | None = None
        while True:
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": BY_QUEUE_STATUS,
                "KeyConditionExpression": "qs = :p",
                "FilterExpression": "attribute_exists(flowChildren)",
                "ExpressionAttributeValues": {":p": {"S": f"{queue}#{status.value}"}},
                "Limit": page_size,
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            reply = self.client.query(**kwargs)
            yield from reply.get("Items", [])
            start = reply.get("LastEvaluatedKey")
            if not start:
                return

    def records(self, links: Sequence[tuple[str, str]]) -> list[JobRecord | None]:
        """The records of some jobs (results resolved), in order."""

        def one(link: tuple[str, str]) -> JobRecord | None:
            return self.store.get(link[0], link[1])

        return list(self.store._pool.map(one, links))


def child_failed_error(child_id: str, error: Any) -> dict[str, Any]:
    """The parent's error when a required child failed for good (names the child)."""
    message = f"child job {child_id} failed"
    if isinstance(error, dict) and error.get("message"):
        message += f": {error['message']}"
    return {"message": message, "type": "ChildFailedError", "child": child_id}
