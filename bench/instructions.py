"""Instructions per single enqueue, counted by valgrind's callgrind: the same count on every
run, however busy the machine, where timings on a shared machine move by half.

``python -m bench.instructions`` (needs valgrind) prints, per ``Queue.add`` of a no-op job:
the client's instructions (Python, asyncio, redis-py, hiredis and the kernel calls' user
side) and Redis' (the enqueue script and the command around it). Each side is counted
over two runs of different lengths; their difference, over the difference in jobs, leaves
out start-up and shut-down.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from redis.asyncio import Redis

from bench.systems.corral_sys import Noop, make_queue

REDIS = ["redis-server", "--save", "", "--appendonly", "no", "--port"]
TOTAL = re.compile(r"^(?:summary|totals): (\d+)", re.MULTILINE)


def callgrind(command: list[str], out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def total(out: Path) -> int:
    match = TOTAL.search(out.read_text())
    if match is None:
        raise SystemExit(f"no total in {out}")
    return int(match.group(1))


async def enqueue(port: int, jobs: int) -> None:
    redis = Redis(port=port, decode_responses=True)
    queue = make_queue(redis, "instructions")
    for i in range(jobs):
        await queue.add(Noop(i=i))
    await redis.aclose()


def server_count(port: int, jobs: int, work: Path) -> int:
    """Redis' instructions while it takes ``jobs`` single enqueues (and starts and stops)."""
    out = work / f"server-{jobs}.out"
    server = callgrind([*REDIS, str(port)], out)
    for _ in range(100):
        if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout:
            break
        time.sleep(0.2)
    asyncio.run(enqueue(port, jobs))
    subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True)
    server.wait()
    return total(out)


def client_count(port: int, jobs: int, work: Path) -> int:
    """The client process' instructions for ``jobs`` single enqueues (and its start)."""
    out = work / f"client-{jobs}.out"
    code = f"import asyncio, bench.instructions as b; asyncio.run(b.enqueue({port}, {jobs}))"
    callgrind([sys.executable, "-c", code], out).wait()
    return total(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=6398, help="a free port for the Redis")
    parser.add_argument("--jobs", type=int, default=1000, help="jobs between the two runs")
    a = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        short, long = 200, 200 + a.jobs
        server = (server_count(a.port, long, work) - server_count(a.port, short, work)) / a.jobs
        # The client needs a Redis to talk to; an uninstrumented one.
        redis = subprocess.Popen([*REDIS, str(a.port)], stdout=subprocess.DEVNULL)
        time.sleep(0.5)
        try:
            client = (client_count(a.port, long, work) - client_count(a.port, short, work)) / a.jobs
        finally:
            redis.terminate()
            redis.wait()
    print(f"instructions per single enqueue: client {client:,.0f}, Redis {server:,.0f}")


if __name__ == "__main__":
    main()
