"""Checks on untrusted input before it reaches a Redis key, a parser or DynamoDB.

Ids and names are checked against the patterns of ``corral.keys``, which admit none of
``{``, ``}``, ``:``, ``*``, whitespace or control characters: an id can neither leave its
queue's hash tag nor address another key. JSON documents are bounded in depth, so no
recursive parser, encoder or validator downstream (Python's json gives up near 1,000
levels, Lua's cjson at 1,000) meets a hostile nesting; 32 is DynamoDB's own limit for
nested maps, and no job needs more.
"""

from __future__ import annotations

import json
from typing import Any

from corral.errors import InvalidIdentifierError
from corral.keys import valid_identifier, valid_queue_name

MAX_JSON_DEPTH = 32
"""Most levels of nested objects and arrays in a request body (the root counts as one)."""


def require_identifier(value: object, what: str = "id") -> str:
    """``value`` if it may be used inside a key; otherwise InvalidIdentifierError."""
    if not isinstance(value, str) or not valid_identifier(value):
        raise InvalidIdentifierError(
            f"invalid {what}: 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


def require_queue_name(value: object) -> str:
    """``value`` if it may name a queue; otherwise InvalidIdentifierError."""
    if not isinstance(value, str) or not valid_queue_name(value):
        raise InvalidIdentifierError(
            "invalid queue name: 1-63 lower-case letters, digits, '-' or '_'"
        )
    return value


def depth_exceeds(document: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a decoded JSON document nests objects and arrays deeper than ``limit``.

    Iterative, so a document of any depth is measured without recursion; it stops at the
    first container past the limit.
    """
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def json_body_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a JSON body nests deeper than ``limit``.

    A body that is not JSON at all is not this check's business (the app answers 422);
    one too deep for the parser's recursion limit is too deep by any measure.
    """
    try:
        document = json.loads(body)
    except RecursionError:
        return True
    except ValueError:
        return False
    return depth_exceeds(document, limit)
