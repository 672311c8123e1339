"""Per-tenant quotas: how much one tenant may hold or send, so no tenant crowds out another.

- ``schedules``, ``webhooks``: most registrations per tenant, counted in their stores
  when one is created (a race can let one extra through; neither is a resource that
  grows by itself).
- ``waiting_jobs``: most jobs of one tenant waiting in one queue; checked inside the
  enqueue script, atomically with the add, so concurrent requests cannot overshoot it.
  Delayed jobs are bounded by the rate below, not by this count.
- ``enqueue_rate`` / ``enqueue_burst``: jobs per second a tenant may enqueue through the
  API (all queues together), as a token bucket in Redis (``quota_rate.lua``); a burst of
  up to ``enqueue_burst`` jobs passes at once.

A quota of 0 is no quota. Refusals are ``QuotaExceededError``: the API answers 429 with
``Retry-After``. Only callers of the API are held to them: schedules and the reconciler
enqueue what was already accepted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from corral.errors import QuotaExceededError
from corral.keys import tenant_bucket
from corral.scripts import RedisClient, run_script
from corral.settings import Settings

__all__ = ["QuotaExceededError", "Quotas", "admit_enqueue", "check_count"]


_DEFAULT = {name: field.default for name, field in Settings.model_fields.items()}


@dataclass(frozen=True)
class Quotas:
    """A tenant's limits (0: none); the defaults are the settings' (``CORRAL_QUOTA_*``),
    generous: they stop runaways, not use."""

    schedules: int = _DEFAULT["quota_schedules"]
    webhooks: int = _DEFAULT["quota_webhooks"]
    waiting_jobs: int = _DEFAULT["quota_waiting_jobs"]
    enqueue_rate: int = _DEFAULT["quota_enqueue_rate"]
    enqueue_burst: int = _DEFAULT["quota_enqueue_burst"]


def check_count(what: str, count: int, limit: int) -> None:
    """Refuse one more of ``what`` when the tenant already has ``limit`` of them."""
    if limit and count >= limit:
        # Time alone frees nothing here: Retry-After is a nominal minute.
        raise QuotaExceededError(
            f"the tenant already has {count} {what} (quota {limit}); delete one first"
        )


async def admit_enqueue(
    redis: RedisClient, quotas: Quotas, tenant: str, n: int, now_ms: int, prefix: str
) -> None:
    """Take ``n`` jobs from the tenant's enqueue budget, or raise QuotaExceededError."""
    if not quotas.enqueue_rate:
        return
    if n > quotas.enqueue_burst:
        raise QuotaExceededError(
            f"{n} jobs at once is more than the enqueue burst quota ({quotas.enqueue_burst})"
        )
    key = tenant_bucket(prefix, tenant)
    args = [now_ms, quotas.enqueue_rate, quotas.enqueue_burst, n]
    admitted, wait_ms = await run_script(redis, "quota_rate", [key], args)
    if not int(admitted):
        raise QuotaExceededError(
            f"over the enqueue rate quota ({quotas.enqueue_rate} jobs/s); retry later",
            math.ceil(int(wait_ms) / 1000),
        )
