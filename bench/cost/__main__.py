"""``python -m bench.cost --jobs N`` (``make cost``): dollars per million jobs, and idle.

Runs N fast jobs through the emulator without faults twice: one job per API request,
then batches of ten per request. Each run counts every AWS request, Lambda invocation
(busy and idle time apart) and Redis command, and the API's time inside its app; the
first run then measures the idle system for a while. Prints corral's cost per million
jobs beside SQS with a Lambda event source mapping and QStash, and per idle month.
"""

from __future__ import annotations

import argparse
import sys

from bench.chaos.run import Config, execute
from bench.cost.table import idle_usage, measure, render

BATCH = 10


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cost", description=__doc__)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle measured")
    parser.add_argument("--no-batch", action="store_true", help="skip the batched run")
    args = parser.parse_args(argv)
    single = execute(_config(args.jobs, args.duration, 1, args.idle))
    batched = None if args.no_batch else execute(_config(args.jobs, args.duration, BATCH, 0))
    for result in (single, batched):
        if result is not None and not result.ok:
            print("the benchmark run did not finish every job; no cost table", file=sys.stderr)
            return 1
    idle = idle_usage(single)
    one = measure("single enqueues (one job per API request)", single, idle, args.idle)
    many = None
    if batched is not None:
        many = measure(f"batches of {BATCH} per API request", batched, idle, args.idle)
    print(render(one, many, idle, args.idle), flush=True)
    return 0


def _config(jobs: int, duration_s: float, batch: int, idle_s: float) -> Config:
    return Config(
        jobs=jobs,
        duration_s=duration_s,
        faults=False,
        plain=True,
        batch=batch,
        idle_s=idle_s,
        settle_s=600,
    )


if __name__ == "__main__":
    sys.exit(main())
