"""A worker process: ``python -m bench.worker SYSTEM URL NAME MODE N CONCURRENCY``.

MODE ``drain`` prints ``{t0, t1}`` once N jobs have run; ``latency`` prints ``{lat}`` per
job. The worker runs until the orchestrator ends it.
"""

from __future__ import annotations

import argparse
import importlib

from bench.client import system_module
from bench.protocol import Counter


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("system")
    parser.add_argument("url")
    parser.add_argument("name")
    parser.add_argument("mode")
    parser.add_argument("n", type=int)
    parser.add_argument("concurrency", type=int, nargs="?", default=8)
    a = parser.parse_args()
    module = importlib.import_module(system_module(a.system))
    module.run_worker(a.url, a.name, Counter(a.mode, a.n), a.concurrency)


if __name__ == "__main__":
    cli()
