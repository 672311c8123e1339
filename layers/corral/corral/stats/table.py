"""The tenant table: per-tenant data that is not a job.

Key: ``pk`` (hash) and ``sk`` (range), both strings. Three kinds of items:

- daily counters: ``pk = "stats#{tenant}#{queue}"``, ``sk = "{YYYY-MM-DD}"`` (``counters``);
- webhook registrations: ``pk = "webhooks#{tenant}"``, ``sk = "hook#{id}"``;
- the tenant's signing secret: ``pk = "webhooks#{tenant}"``, ``sk = "secret"``.

Counters expire through DynamoDB TTL on ``expiresAt``.
"""

from __future__ import annotations

from typing import Any

TTL_ATTRIBUTE = "expiresAt"


def table_definition(name: str) -> dict[str, Any]:
    """``CreateTable`` arguments for the tenant table (the template declares the same)."""
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
    }
