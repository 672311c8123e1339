"""Queue names and ids checked before they become part of a request's path.

A name that fails here could add segments (``..``, ``/``) that reach another route. The
patterns are the server's own (``corral.keys``); ``tests/deploy/packaging/test_package.py`` holds
the two equal, so the client refuses exactly what the API would.
"""

from __future__ import annotations

import re

QUEUE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
"""Queue names: lower case, digits, ``-`` and ``_``."""

IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
"""Job ids, schedule ids, webhook ids and key group ids."""


class InvalidIdentifierError(ValueError):
    """A queue name or id that the API would refuse (nothing was sent)."""


def require_identifier(value: object, what: str = "id") -> str:
    """``value`` if it is a valid id; otherwise InvalidIdentifierError."""
    if not isinstance(value, str) or IDENTIFIER.fullmatch(value) is None:
        raise InvalidIdentifierError(
            f"invalid {what}: 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


def require_queue_name(value: object) -> str:
    """``value`` if it is a valid queue name; otherwise InvalidIdentifierError."""
    if not isinstance(value, str) or QUEUE_NAME.fullmatch(value) is None:
        raise InvalidIdentifierError(
            "invalid queue name: 1-63 lower-case letters, digits, '-' or '_'"
        )
    return value
