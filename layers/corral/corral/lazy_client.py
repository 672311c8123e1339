"""AWS clients built on first use, so that a cold start pays only for those it calls.

Importing boto3 and building a client (botocore loads the service's model) costs tens of
milliseconds each; the API holds five of them and a request uses one or two.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

# One lock for every build: boto3's default session is not safe to use from two threads
# at once, and the job store builds from its thread pool. Re-entrant: a table's build
# uses the resource it comes from, itself built on first use.
_BUILD = threading.RLock()

T = TypeVar("T")


class LazyClient:
    """Stands in for the object ``build`` returns, and builds it on first attribute access.

    Args:
        build: makes the client (or resource, or table); called at most once.
    """

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._built: Any = None

    def __getattr__(self, name: str) -> Any:
        # Only reached for names the proxy itself lacks: everything the client has.
        if name in ("_build", "_built"):  # before __init__ (a copy): no recursion
            raise AttributeError(name)
        if self._built is None:
            with _BUILD:
                if self._built is None:
                    self._built = self._build()
        return getattr(self._built, name)

    def reset(self) -> None:
        """Forget the client: the next use builds a new one (after a snapshot restore)."""
        with _BUILD:
            self._built = None

    @property
    def built(self) -> bool:
        """Whether the client exists yet."""
        return self._built is not None


def lazy(build: Callable[[], T]) -> T:
    """A ``LazyClient`` over ``build``, typed as what ``build`` returns.

    Args:
        build: makes the client (or resource, or table) on first use.

    Returns:
        The proxy, which behaves as the client for attribute access and calls.
    """
    return cast(T, LazyClient(build))
