"""What the job table's indexes bill per job, derived from the writes corral makes."""

from __future__ import annotations

import re
from typing import Any

from corral.job import JobStatus
from corral.records import (
    INDEX_WRITES_PER_JOB,
    JobRecord,
    OutcomeRecord,
    index_write_units,
    table_definition,
    to_item,
)
from corral.store_updates import outcome_update


def indexes() -> dict[str, tuple[set[str], str]]:
    """Each index's key attributes and projection type."""
    return {
        index["IndexName"]: (
            {key["AttributeName"] for key in index["KeySchema"]},
            index["Projection"]["ProjectionType"],
        )
        for index in table_definition("t")["GlobalSecondaryIndexes"]
    }


def changed_by(update: dict[str, Any], item: dict[str, Any]) -> set[str]:
    """The attributes of ``item`` whose value an ``UpdateExpression`` changes."""
    names = update.get("ExpressionAttributeNames", {})
    values = update["ExpressionAttributeValues"]
    changed = set()
    for clause in re.split(r"\b(?=SET |REMOVE )", update["UpdateExpression"]):
        action, _, body = clause.strip().partition(" ")
        for part in body.split(","):
            name, _, value = (x.strip() for x in part.partition("="))
            name = names.get(name, name)
            removed = action == "REMOVE" and name in item
            replaced = action == "SET" and item.get(name) != values.get(value)
            if removed or replaced:
                changed.add(name)
    return changed


def writes(changed: set[str], keys: set[str], projection: str) -> int:
    """Index writes DynamoDB makes for an update of ``changed`` attributes of an item
    already in the index: a move when a key changes, a rewrite when a projected one does."""
    if changed & keys:
        return 2
    projected = keys | {"pk"} if projection == "KEYS_ONLY" else None
    return 1 if projected is None or changed & projected else 0


def pending() -> JobRecord:
    return JobRecord(
        job_id="j", queue="q", tenant="t", status=JobStatus.PENDING, attempts=2,
        attempts_made=0, created_at=1,
    )  # fmt: skip


def test_the_writes_per_job_follow_from_the_put_the_outcome_and_the_projections() -> None:
    item = to_item(pending())
    done = OutcomeRecord("q", "j", "t", JobStatus.COMPLETED, 1, 2, payload="1")
    changed = changed_by(outcome_update(done, 60), item)
    assert {"status", "qs", "result"} <= changed
    counted = {
        name: int(keys <= set(item)) + writes(changed, keys, projection)
        for name, (keys, projection) in indexes().items()
    }
    assert counted == INDEX_WRITES_PER_JOB


def test_a_retry_outcome_writes_nothing_to_the_tenant_index() -> None:
    item = to_item(pending())
    retry = OutcomeRecord("q", "j", "t", JobStatus.PENDING, 1, 2, payload='{"message":"x"}')
    changed = changed_by(outcome_update(retry, None), item)
    assert "qs" not in changed and "error" in changed
    found = {name: writes(changed, keys, kind) for name, (keys, kind) in indexes().items()}
    assert found == {"byQueueStatus": 1, "byTenantKeys": 0}


def test_index_write_units_price_whole_items_only_where_every_attribute_is_projected() -> None:
    assert index_write_units(1.0) == 4.0
    # A record of 1 to 2 KB: byQueueStatus's three entries are 2 units each.
    assert index_write_units(2.0) == 7.0
