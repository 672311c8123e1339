"""Retry delays: fixed, or exponential with jitter and a cap."""

from __future__ import annotations

import random

from corral.job import Backoff, BackoffType


def retry_delay(backoff: Backoff, attempts_made: int, rng: random.Random | None = None) -> int:
    """Milliseconds to wait before the next attempt, after ``attempts_made`` attempts."""
    base = backoff.delay
    if backoff.type is BackoffType.EXPONENTIAL:
        base = backoff.delay * 2 ** max(0, min(attempts_made - 1, 40))
    base = min(base, backoff.max_delay)
    if backoff.jitter == 0 or base == 0:
        return int(base)
    # Jitter spreads retries so a burst of failures does not come back as a burst.
    spread = base * backoff.jitter
    return int(base - spread + (rng or random).random() * spread)
