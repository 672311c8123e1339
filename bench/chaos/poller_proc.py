"""``python -m bench.chaos.poller_proc QUEUE``: one poller invocation in its own process.

The driver kills these with ``SIGKILL`` mid-batch, as Lambda ends an invocation that
reaches its timeout or a crashed runtime. The context claims a minute is left, so the
poller keeps claiming right up to the kill. Settings come from the same environment as
the emulator's (Redis, the moto server, the key prefix, the fault rates).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]

import boto3  # noqa: E402

from bench.chaos.faults import Hooks  # noqa: E402
from bench.chaos.settings import get_chaos_settings  # noqa: E402

CLAIMED_BUDGET_S = 60


async def _no_fan_out(queue: str) -> None:
    """Fan-out belongs to the emulator's pollers."""


def main(queue: str) -> None:
    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    Hooks(get_chaos_settings()).install(boto3.DEFAULT_SESSION.events)

    from corral.wiring import Wiring, install
    from poller import app

    from bench.chaos.queues import registry
    from infra.local.lambdas import LocalContext

    install(Wiring(registry=lambda: registry, starter=_no_fan_out))
    print("polling", flush=True)
    # A warm container invoked back to back until the driver kills it: a poller that found
    # its queue empty and returned early is still there to be killed mid-batch next time.
    while True:
        app.handler({"queue": queue}, LocalContext(f"corral-poller-{queue}", CLAIMED_BUDGET_S))
        time.sleep(0.2)


if __name__ == "__main__":
    main(sys.argv[1])
