"""Start a system's client or worker process and talk the line protocol with it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from bench.protocol import parse

BENCH_DIR = Path(__file__).parent


def argv(system: str, role: str, url: str, name: str, mode: str, n: int, extra: int) -> list[str]:
    """The command line of one process: Node for BullMQ, this Python for the others."""
    args = [role, url, name, mode, str(n), str(extra)]
    if system == "bullmq":
        return ["node", str(BENCH_DIR / "bullmq_bench.mjs"), *args]
    return [sys.executable, "-m", f"bench.{role}", system, *args[1:]]


class Proc:
    """One running process; stderr goes to ``log``."""

    def __init__(self, proc: asyncio.subprocess.Process, label: str) -> None:
        self.proc = proc
        self.label = label

    @classmethod
    async def start(cls, args: list[str], log: Path, label: str) -> Proc:
        with log.open("ab") as err:
            proc = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
                cwd=BENCH_DIR.parent,
            )
        started = cls(proc, label)
        ready = await started.next(120)
        if ready != "ready":
            raise RuntimeError(f"{label}: expected ready, got {ready!r}")
        return started

    async def next(self, timeout: float) -> Any:
        """The next protocol line (other output is skipped)."""
        assert self.proc.stdout is not None
        async with asyncio.timeout(timeout):
            while True:
                line = await self.proc.stdout.readline()
                if not line:
                    raise RuntimeError(f"{self.label}: exited ({await self.proc.wait()})")
                value = parse(line.decode(errors="replace"))
                if value is not None:
                    return value

    async def go(self) -> None:
        await self.say("go")

    async def say(self, line: str) -> None:
        """One line to the process' stdin."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()

    async def finish(self, timeout: float = 30) -> None:
        """Wait for a client to exit on its own."""
        async with asyncio.timeout(timeout):
            await self.proc.wait()

    async def stop(self) -> None:
        """End a worker: SIGTERM, then SIGKILL if it lingers."""
        if self.proc.returncode is not None:
            return
        self.proc.terminate()
        try:
            async with asyncio.timeout(5):
                await self.proc.wait()
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
