"""A producer process: ``python -m bench.client SYSTEM URL NAME MODE N EXTRA``.

MODE is ``enqueue-single``, ``enqueue-bulk`` or ``fill`` (EXTRA = jobs per bulk call), or
``produce`` (EXTRA = ms between latency samples). Prints ``{"seconds": ...}`` when done.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import time

from bench.protocol import ready_then_wait, say
from bench.systems import ClientOps

SYSTEMS = ("corral", "rq", "saq", "celery")


def system_module(system: str) -> str:
    if system not in SYSTEMS:
        raise SystemExit(f"unknown system {system!r}")
    return f"bench.systems.{system}_sys"


async def main(system: str, url: str, name: str, mode: str, n: int, extra: int) -> None:
    module = importlib.import_module(system_module(system))
    ops: ClientOps = await module.client(url, name)
    await asyncio.get_running_loop().run_in_executor(None, ready_then_wait)
    start = time.perf_counter()
    if mode == "enqueue-single":
        await ops.single(n)
    elif mode in ("enqueue-bulk", "fill"):
        await ops.bulk(n, extra or 1000)
    elif mode == "produce":
        await ops.produce(n, extra / 1000)
    else:
        raise SystemExit(f"unknown client mode {mode!r}")
    say({"seconds": time.perf_counter() - start})
    await ops.close()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("system")
    parser.add_argument("url")
    parser.add_argument("name")
    parser.add_argument("mode")
    parser.add_argument("n", type=int)
    parser.add_argument("extra", type=int, nargs="?", default=0)
    a = parser.parse_args()
    # Each system's producer runs on the loop it would run on in production: corral's
    # on corral's (its API function's), the others' on asyncio's.
    loop = getattr(importlib.import_module(system_module(a.system)), "new_loop", None)
    with asyncio.Runner(loop_factory=loop) as runner:
        runner.run(main(a.system, a.url, a.name, a.mode, a.n, a.extra))


if __name__ == "__main__":
    cli()
