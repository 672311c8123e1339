"""``python -m bench.chaos --jobs N --duration S --tenants T`` (``make chaos``)."""

from __future__ import annotations

import argparse
import sys

from bench.chaos.report import table
from bench.chaos.run import Config, execute, reconcile_period


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--tenants", type=int, default=3)
    parser.add_argument("--settle", type=float, default=300.0, help="longest wait after it")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the logs' directory")
    args = parser.parse_args(argv)
    config = Config(
        args.jobs,
        args.duration,
        args.tenants,
        args.settle,
        seed=args.seed,
        keep=args.keep,
        reconcile_s=reconcile_period(args.duration),
    )
    result = execute(config)
    print(table(result.run, result.outcome), flush=True)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
