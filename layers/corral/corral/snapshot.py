"""Lambda SnapStart: what an execution environment restored from a snapshot must make afresh.

With SnapStart, Lambda runs a function's init once, when a version is published, and
starts later execution environments from a snapshot of its memory. Whatever init made is
then shared by all of them: open connections (stale after a restore), the ``random``
module's state (every environment would draw the same jitter), and any id, clock reading
or credential taken at init. So nothing may take an id at init, and modules that keep
connections or clients register here how to drop them: ``run_after_restore`` runs every
hook, in the order they were registered.

Lambda's Python runtimes ship ``snapshot_restore_py``; when it is there, it calls
``run_after_restore`` after each restore. Elsewhere (tests, ``make run``) nothing restores
and only tests call it.
"""

from __future__ import annotations

import random
from collections.abc import Callable

_hooks: list[Callable[[], None]] = []


def after_restore(hook: Callable[[], None]) -> Callable[[], None]:
    """Run ``hook`` after every restore from a snapshot (usable as a decorator)."""
    _hooks.append(hook)
    return hook


def run_after_restore() -> None:
    """Run the registered hooks: what Lambda calls once a snapshot is restored."""
    for hook in list(_hooks):
        hook()


def _register_with_runtime() -> None:
    try:
        from snapshot_restore_py import register_after_restore  # type: ignore[import-not-found]
    except ImportError:
        return
    register_after_restore(run_after_restore)


# random's state was seeded at init: re-seed it from the OS, or every restored environment
# would draw the same retry jitter (corral.backoff, redis-py's backoff).
after_restore(random.seed)
_register_with_runtime()
