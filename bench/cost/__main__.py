"""``python -m bench.cost --jobs N`` (``make cost``): dollars per million jobs, and idle.

Runs N fast jobs through the emulator without faults (one job per API request, as a
client enqueues them), counts every AWS request, Lambda invocation and Redis command,
then measures the idle system for a while; prints corral's cost per million jobs and per
idle month beside the same jobs on SQS with a Lambda event source mapping.
"""

from __future__ import annotations

import argparse
import sys

from bench.chaos.run import Config, execute
from bench.cost.table import render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cost", description=__doc__)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle measured")
    args = parser.parse_args(argv)
    config = Config(
        jobs=args.jobs,
        duration_s=args.duration,
        faults=False,
        plain=True,
        batch=1,
        idle_s=args.idle,
        settle_s=600,
    )
    result = execute(config)
    if not result.ok:
        print("the benchmark run did not finish every job; no cost table", file=sys.stderr)
        return 1
    print(render(result, args.idle, config), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
