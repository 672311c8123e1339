"""Instructions per single enqueue, counted by valgrind's callgrind: the same count on every
run, however busy the machine, where timings on a shared machine move by half.

``python -m bench.instructions [--loop corral|asyncio]`` (needs valgrind) prints, per
``Queue.add`` of a no-op job: the client's instructions (Python, the event loop, redis-py,
hiredis and the user side of the kernel calls) and Redis' (the enqueue script and the
command around it). Each side is counted over two runs of different lengths; their
difference, over the difference in jobs, leaves out start-up and shut-down. The client
runs on corral's event loop (``corral.event_loops``), or with ``--loop asyncio`` on
asyncio's own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from corral.event_loops import new_loop
from redis.asyncio import Redis

from bench.systems.corral_sys import Noop, make_queue

REDIS = ["redis-server", "--save", "", "--appendonly", "no", "--port"]
TOTAL = re.compile(r"^(?:summary|totals): (\d+)", re.MULTILINE)


def callgrind(command: list[str], out: Path) -> subprocess.Popen[bytes]:
    # A fixed hash seed: with a random one, a Python process' count moves by 1-2% a run
    # (dict and set probes differ), more than many a change measured here.
    return subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )


def total(out: Path) -> int:
    match = TOTAL.search(out.read_text())
    if match is None:
        raise SystemExit(f"no total in {out}")
    return int(match.group(1))


def run_enqueue(port: int, jobs: int, loop: str) -> None:
    """Enqueue on corral's event loop (``corral.event_loops``), or on asyncio's own."""
    factory = new_loop if loop == "corral" else asyncio.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(enqueue(port, jobs))


async def enqueue(port: int, jobs: int) -> None:
    redis = Redis(port=port, decode_responses=True)
    queue = make_queue(redis, "instructions")
    for i in range(jobs):
        await queue.add(Noop(i=i))
    await redis.aclose()


def server_count(port: int, jobs: int, work: Path, loop: str) -> int:
    """Redis' instructions while it takes ``jobs`` single enqueues (and starts and stops)."""
    out = work / f"server-{jobs}.out"
    server = callgrind([*REDIS, str(port)], out)
    for _ in range(100):
        if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout:
            break
        time.sleep(0.2)
    run_enqueue(port, jobs, loop)
    subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True)
    server.wait()
    return total(out)


def client_count(port: int, jobs: int, work: Path, loop: str) -> int:
    """The client process' instructions for ``jobs`` single enqueues (and its start)."""
    out = work / f"client-{jobs}.out"
    code = f"import bench.instructions as b; b.run_enqueue({port}, {jobs}, {loop!r})"
    callgrind([sys.executable, "-c", code], out).wait()
    return total(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=6398, help="a free port for the Redis")
    parser.add_argument("--jobs", type=int, default=1000, help="jobs between the two runs")
    parser.add_argument(
        "--loop", choices=("corral", "asyncio"), default="corral", help="the client's loop"
    )
    a = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        short, long = 200, 200 + a.jobs
        longest = server_count(a.port, long, work, a.loop)
        server = (longest - server_count(a.port, short, work, a.loop)) / a.jobs
        # The client needs a Redis to talk to; an uninstrumented one.
        redis = subprocess.Popen([*REDIS, str(a.port)], stdout=subprocess.DEVNULL)
        time.sleep(0.5)
        try:
            longer = client_count(a.port, long, work, a.loop)
            client = (longer - client_count(a.port, short, work, a.loop)) / a.jobs
        finally:
            redis.terminate()
            redis.wait()
    print(
        f"instructions per single enqueue ({a.loop} loop): client {client:,.0f},"
        f" Redis {server:,.0f}"
    )


if __name__ == "__main__":
    main()
