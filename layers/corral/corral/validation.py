"""Checks on untrusted input before it reaches a Redis key, a parser or DynamoDB.

Ids and names are checked against the patterns of ``corral.keys``, which admit none of
``{``, ``}``, ``:``, ``*``, whitespace or control characters: an id can neither leave its
queue's hash tag nor address another key. JSON documents are bounded in depth, so no
recursive parser, encoder or validator downstream (Python's json gives up near 1,000
levels, Lua's cjson at 1,000) meets a hostile nesting; 32 is DynamoDB's own limit for
nested maps, and no job needs more. Numbers must be finite: JSON has no NaN or infinity.
"""

from __future__ import annotations

import json
import math
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


class NonFiniteNumberError(ValueError):
    """A JSON number that is not a finite float: NaN, Infinity, -Infinity or 1e400."""


def _constant(name: str) -> Any:
    raise NonFiniteNumberError(name)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NonFiniteNumberError(text)
    return value


def json_body_refusal(body: bytes, limit: int = MAX_JSON_DEPTH) -> str | None:
    """Why a JSON body is refused before the app parses it, or None.

    Two things the app's own parser lets through: nesting deeper than ``limit``, and
    numbers JSON has no finite value for (``NaN``, ``Infinity``, ``-Infinity``, which
    Python's json accepts, and ``1e400``, which it reads as infinity); they would be
    stored as null. A body that is not JSON at all is not this check's business (the app
    answers 422); one too deep for the parser's recursion limit is too deep by any measure.
    """
    try:
        document = json.loads(body, parse_constant=_constant, parse_float=_finite)
    except RecursionError:
        return f"the JSON body is nested deeper than {limit} levels"
    except NonFiniteNumberError as exc:
        return f"the JSON body holds {exc}, which is not a finite number"
    except ValueError:
        return None
    if depth_exceeds(document, limit):
        return f"the JSON body is nested deeper than {limit} levels"
    return None
