"""The engine's clock: epoch milliseconds, the unit of every time in Redis and the job table."""

from __future__ import annotations

import time


def now_ms() -> int:
    """Now, in epoch milliseconds."""
    return int(time.time() * 1000)
